package pumpsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Figures are what a run measured.
type Figures struct {
	AttackSends, AttackReached     int
	AttackVerified, AttackToVerify int // codes the attacker typed (Scenario.AttackVerifies)
	RealSends, RealReached         int
	RealVerified, RealToVerify     int
	Sent200, Other                 int            // send answers: "200 sent" alike, or not
	OtherAnswers                   map[string]int // status and body of the others
	ByCountry                      map[string][2]int
	ByTag                          map[string][2]int // real visitors' sends and those that reached, per Req.Tag
	Took                           time.Duration
	Late                           time.Duration // in real time, the most a step started behind the plan
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// countries are those of ByCountry, Countries' order first.
func (f Figures) countries() []string {
	var out []string
	for _, c := range Countries {
		if _, ok := f.ByCountry[c]; ok {
			out = append(out, c)
		}
	}
	var rest []string
	for c := range f.ByCountry {
		if !slices.Contains(Countries, c) {
			rest = append(rest, c)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// Report is the figures as the README and docs/pumping.md give them.
func (f Figures) Report() string {
	var b strings.Builder
	if f.AttackSends == 0 {
		fmt.Fprintf(&b, "pumping sends reaching the provider: n/a (no attack)\n")
	} else {
		fmt.Fprintf(&b, "pumping sends reaching the provider: %d of %d (%.1f%%)\n", f.AttackReached, f.AttackSends, pct(f.AttackReached, f.AttackSends))
	}
	if f.AttackToVerify > 0 {
		fmt.Fprintf(&b, "  codes the attacker typed:          %d, verified %d\n", f.AttackToVerify, f.AttackVerified)
	}
	fmt.Fprintf(&b, "real visitors' sends reaching it:    %d of %d (%.1f%%)\n", f.RealReached, f.RealSends, pct(f.RealReached, f.RealSends))
	for _, c := range f.countries() {
		bc := f.ByCountry[c]
		fmt.Fprintf(&b, "  %s: %d of %d\n", c, bc[1], bc[0])
	}
	tags := make([]string, 0, len(f.ByTag))
	for t := range f.ByTag {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	for _, t := range tags {
		fmt.Fprintf(&b, "  %s: %d of %d\n", t, f.ByTag[t][1], f.ByTag[t][0])
	}
	fmt.Fprintf(&b, "real visitors verified:              %d of %d who typed their code\n", f.RealVerified, f.RealToVerify)
	fmt.Fprintf(&b, "send answers \"200 sent\", alike:      %d of %d (others: %v)\n", f.Sent200, f.Sent200+f.Other, f.OtherAnswers)
	fmt.Fprintf(&b, "took %v", f.Took.Round(time.Millisecond))
	if f.Late > time.Second {
		fmt.Fprintf(&b, " (at worst %v behind the plan)", f.Late.Round(time.Millisecond))
	}
	b.WriteString("\n")
	return b.String()
}

// Row is one scenario's line of the table.
type Row struct {
	Scenario string
	Figures  Figures
	Pauses   []string // the pauses in force after the run, as "prefix +44740010 (20 sends, 0 verified)"
	Err      error    // the run stopped early: the figures are those so far
}

// Table is the rows as the Markdown table docs/pumping.md gives.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| scenario | pumping sends reaching the provider | real visitors' SMS delivered | real visitors verified | answers alike | pauses set |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rows {
		f := r.Figures
		attack := "n/a"
		if f.AttackSends > 0 {
			attack = share(f.AttackReached, f.AttackSends)
			if f.AttackToVerify > 0 {
				attack += fmt.Sprintf(", %s verified by the attacker", num(f.AttackVerified))
			}
		}
		pauses := "none"
		if len(r.Pauses) > 0 {
			pauses = strings.Join(r.Pauses, "; ")
		}
		name := r.Scenario
		if r.Err != nil {
			name += " (stopped: " + r.Err.Error() + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s of %s | %s of %s | %s |\n", name, attack,
			share(f.RealReached, f.RealSends), num(f.RealVerified), num(f.RealToVerify),
			num(f.Sent200), num(f.Sent200+f.Other), pauses)
	}
	return b.String()
}

// share is "30 of 2,000 (1.5%)".
func share(n, of int) string {
	return fmt.Sprintf("%s of %s (%s%%)", num(n), num(of), strconv.FormatFloat(pct(n, of), 'f', 1, 64))
}

// num writes n with thousands separated by commas, as the docs do.
func num(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
