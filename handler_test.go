package caddyotp
