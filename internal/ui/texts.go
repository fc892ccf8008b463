package ui

// shippedTexts holds every sentence a visitor can read, per language: the
// pages' words and the refusals' messages (err.<code>, one for each error
// code of the root's outcomeTable). A site adds a language, or rewords one, with
// texts.<lang>.json in template_dir (see catalog.go); a key it leaves out
// falls back to English.
//
// {name} is filled in by the caller. Counted words come in .one and .other
// forms, the plural rule of English and German; a language with more
// forms adds them as CLDR names them (.zero, .two, .few, .many: see
// Count), and without them gets .other for every number but 1. More
// languages are in texts_*.go; every one has every key (catalog_test.go).
var shippedTexts = map[string]map[string]string{
	"en": {
		"phone.title":   "Verify your phone",
		"phone.lead":    "We'll text you a code to sign in.",
		"phone.country": "Country",
		"phone.number":  "Phone number",
		"phone.submit":  "Send code",
		"phone.privacy": "We use your number only to send you the code.",
		"phone.listed":  "To finish signing in, we'll text a code to {phone}.",

		"verify.title":      "Enter your code",
		"verify.sent":       "We sent a {digits}-digit code to {phone}.",
		"verify.resent":     "We sent a new code to {phone}.",
		"verify.code":       "{digits}-digit code",
		"verify.expires":    "The code expires in {duration}. You have {attempts}.",
		"verify.expired":    "This code has expired. Ask for a new one.",
		"verify.submit":     "Verify",
		"verify.resend":     "Send a new code",
		"verify.resend_in":  "New code in {time}",
		"verify.not_got_it": "Didn't get it?",
		"verify.change":     "Use a different number",
		"verify.remember":   "Trust this browser: skip the code next time",
		"verify.call":       "Call me instead",
		"verify.calling":    "We're calling {phone} now. Answer to hear your code.",
		"site.sign_in":      "Sign in to {site}",
		"code.malformed":    "Enter the {digits}-digit code from the text message.",

		"blocked.title": "Too many wrong codes",
		"blocked.body":  "For your security, sign-in for {phone} is paused. Try again in {duration}.",

		"logout.title":      "Sign out",
		"logout.signed_in":  "You're signed in as {phone}.",
		"logout.signed_out": "You're not signed in.",
		"logout.submit":     "Sign out",
		"logout.signin":     "Sign in",
		"logout.forget":     "Also forget this browser (ask for a code next time)",

		"message.title": "Sign-in problem",
		"message.again": "Start again",

		"err.invalid_phone":          "That number doesn't look right. Check it, and the country code.",
		"err.invalid_request":        "That request was incomplete or malformed. Please start again.",
		"err.rate_limited":           "Too many tries — try again in {duration}.",
		"err.blocked":                "Too many wrong codes. Try again in {duration}.",
		"err.sms_failed":             "We couldn't send the text message just now. Please try again.",
		"err.invalid_code":           "That code isn't right. {attempts} left.",
		"err.expired":                "That code has expired or was replaced. Ask for a new one.",
		"err.forbidden":              "This form has expired or came from another site. Please reload the page and try again.",
		"err.unavailable":            "Sign-in is unavailable right now. Please try again in a minute.",
		"err.too_many_checks":        "Too many tries for this code. Ask for a new code.",
		"err.otp_required":           "Please sign in.",
		"err.not_found":              "There is no such page.",
		"err.method_not_allowed":     "That method is not allowed here.",
		"err.request_too_large":      "That request was too large.",
		"err.unsupported_media_type": "Send a form or JSON (Content-Type: application/json).",
		"err.unknown_user":           "There is no phone on file for your account. Ask the site's administrator to add one.",
		"err.unknown_host":           "This site cannot send a code for the address you used. Open the site at its usual address.",

		"seconds.one":    "1 second",
		"seconds.other":  "{n} seconds",
		"minutes.one":    "1 minute",
		"minutes.other":  "{n} minutes",
		"hours.one":      "1 hour",
		"hours.other":    "{n} hours",
		"attempts.one":   "1 attempt",
		"attempts.other": "{n} attempts",
	},
	"de": {
		"phone.title":   "Telefonnummer bestätigen",
		"phone.lead":    "Wir schicken Ihnen einen Code per SMS, mit dem Sie sich anmelden.",
		"phone.country": "Land",
		"phone.number":  "Telefonnummer",
		"phone.submit":  "Code senden",
		"phone.privacy": "Wir verwenden Ihre Nummer nur, um Ihnen den Code zu senden.",
		"phone.listed":  "Zum Abschluss der Anmeldung schicken wir einen Code per SMS an {phone}.",

		"verify.title":      "Code eingeben",
		"verify.sent":       "Wir haben einen {digits}-stelligen Code an {phone} gesendet.",
		"verify.resent":     "Wir haben einen neuen Code an {phone} gesendet.",
		"verify.code":       "{digits}-stelliger Code",
		"verify.expires":    "Der Code läuft in {duration} ab. Sie haben {attempts}.",
		"verify.expired":    "Dieser Code ist abgelaufen. Fordern Sie einen neuen an.",
		"verify.submit":     "Bestätigen",
		"verify.resend":     "Neuen Code senden",
		"verify.resend_in":  "Neuer Code in {time}",
		"verify.not_got_it": "Keine SMS erhalten?",
		"verify.change":     "Andere Nummer verwenden",
		"verify.remember":   "Diesem Browser vertrauen: beim nächsten Mal ohne Code",
		"verify.call":       "Lieber anrufen",
		"verify.calling":    "Wir rufen jetzt {phone} an. Nehmen Sie ab, um Ihren Code zu hören.",
		"site.sign_in":      "Anmelden bei {site}",
		"code.malformed":    "Geben Sie den {digits}-stelligen Code aus der SMS ein.",

		"blocked.title": "Zu viele falsche Codes",
		"blocked.body":  "Zu Ihrer Sicherheit ist die Anmeldung für {phone} vorübergehend gesperrt. Versuchen Sie es in {duration} erneut.",

		"logout.title":      "Abmelden",
		"logout.signed_in":  "Sie sind als {phone} angemeldet.",
		"logout.signed_out": "Sie sind nicht angemeldet.",
		"logout.submit":     "Abmelden",
		"logout.signin":     "Anmelden",
		"logout.forget":     "Diesen Browser auch vergessen (beim nächsten Mal wieder mit Code)",

		"message.title": "Problem bei der Anmeldung",
		"message.again": "Neu beginnen",

		"err.invalid_phone":          "Diese Nummer scheint nicht zu stimmen. Prüfen Sie sie und die Landesvorwahl.",
		"err.invalid_request":        "Die Anfrage war unvollständig oder fehlerhaft. Bitte beginnen Sie neu.",
		"err.rate_limited":           "Zu viele Versuche – versuchen Sie es in {duration} erneut.",
		"err.blocked":                "Zu viele falsche Codes. Versuchen Sie es in {duration} erneut.",
		"err.sms_failed":             "Die SMS konnte gerade nicht gesendet werden. Bitte versuchen Sie es erneut.",
		"err.invalid_code":           "Dieser Code ist nicht richtig. Noch {attempts}.",
		"err.expired":                "Dieser Code ist abgelaufen oder wurde ersetzt. Fordern Sie einen neuen an.",
		"err.forbidden":              "Dieses Formular ist abgelaufen oder kam von einer anderen Website. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
		"err.unavailable":            "Die Anmeldung ist gerade nicht verfügbar. Bitte versuchen Sie es in einer Minute erneut.",
		"err.too_many_checks":        "Zu viele Versuche mit diesem Code. Fordern Sie einen neuen Code an.",
		"err.otp_required":           "Bitte melden Sie sich an.",
		"err.not_found":              "Diese Seite gibt es nicht.",
		"err.method_not_allowed":     "Diese Methode ist hier nicht erlaubt.",
		"err.request_too_large":      "Die Anfrage war zu groß.",
		"err.unsupported_media_type": "Senden Sie ein Formular oder JSON (Content-Type: application/json).",
		"err.unknown_user":           "Für Ihr Konto ist keine Telefonnummer hinterlegt. Bitten Sie die Administration der Website, eine einzutragen.",
		"err.unknown_host":           "Für die verwendete Adresse kann diese Website keinen Code senden. Öffnen Sie die Website unter ihrer üblichen Adresse.",

		"seconds.one":    "1 Sekunde",
		"seconds.other":  "{n} Sekunden",
		"minutes.one":    "1 Minute",
		"minutes.other":  "{n} Minuten",
		"hours.one":      "1 Stunde",
		"hours.other":    "{n} Stunden",
		"attempts.one":   "1 Versuch",
		"attempts.other": "{n} Versuche",
	},
}
