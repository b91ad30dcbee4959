package fleet

import (
	"fmt"
	"strings"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/policies"
)

// Markdown is fleet.md: the verdict, the roll-up and one line per
// repository, for a CI job summary.
func (fr *Report) Markdown() string {
	var b strings.Builder
	ru := fr.Rollup
	fmt.Fprintf(&b, "# dagsec fleet: %s (exit code %d)\n\n", fr.Status, fr.ExitCode)
	scope := fmt.Sprintf("%d repositories", ru.Repos)
	switch {
	case fr.Shard != nil:
		scope += fmt.Sprintf(" (shard %s of a list of %d)", fr.Shard, fr.Total)
	case len(fr.Merged) > 1:
		scope += " (merged from shards " + strings.Join(fr.Merged, ", ") + ")"
	}
	fmt.Fprintf(&b, "%s: %d passed, %d warned, %d blocked, %d error, %d scanned nothing.\n\n",
		scope, ru.Passed, ru.Warned, ru.Blocked, ru.Error, ru.Skipped)
	for _, l := range []struct {
		what  string
		names []string
	}{{"Error", ru.ErrorRepos}, {"Blocked", ru.BlockedRepos}, {"Scanned nothing", ru.SkippedRepos}} {
		if len(l.names) > 0 {
			fmt.Fprintf(&b, "- **%s:** %s\n", l.what, strings.Join(l.names, ", "))
		}
	}
	b.WriteString("\n| Repository | Ref | Status | Critical | High | Medium | Low | Report | Error |\n|---|---|---|---:|---:|---:|---:|---|---|\n")
	for _, r := range fr.Repos {
		ref := r.Ref
		if ref == "" {
			ref = r.Branch
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %d | [%s/summary.md](%s/summary.md) | %s |\n",
			cell(r.Name), cell(ref), StatusText(r.Status),
			r.Counts[findings.SeverityCritical.String()], r.Counts[findings.SeverityHigh.String()],
			r.Counts[findings.SeverityMedium.String()], r.Counts[findings.SeverityLow.String()],
			r.Dir, r.Dir, cell(firstLine(r.Error)))
	}
	return b.String()
}

// StatusText is a verdict as fleets say it: skipped is "nothing scanned".
func StatusText(s policies.Status) string {
	if s == policies.StatusSkipped {
		return "nothing scanned"
	}
	return string(s)
}

// cell keeps tool and git text from breaking a Markdown table.
func cell(s string) string {
	r := strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
