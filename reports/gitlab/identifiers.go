package gitlab

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

var (
	cveID  = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	ghsaID = regexp.MustCompile(`(?i)^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
	cweID  = regexp.MustCompile(`^CWE-(\d+)$`)
)

// standardIdentifier is the CVE, GHSA or CWE identifier an id names, with
// the types, names, values and links GitLab's analyzers use
// (report.CVEIdentifier, GHSAIdentifier, CWEIdentifier); false for any
// other id.
func standardIdentifier(id string) (identifier, bool) {
	id = strings.TrimSpace(id)
	up := strings.ToUpper(id)
	switch {
	case cveID.MatchString(up):
		return identifier{Type: "cve", Name: up, Value: up, URL: "https://nvd.nist.gov/vuln/detail/" + up}, true
	case ghsaID.MatchString(id):
		g := "GHSA" + strings.ToLower(id[4:])
		return identifier{Type: "ghsa", Name: g, Value: g, URL: "https://github.com/advisories/" + g}, true
	case cweID.MatchString(up):
		n, err := strconv.Atoi(cweID.FindStringSubmatch(up)[1])
		if err != nil {
			return identifier{}, false
		}
		return identifier{Type: "cwe", Name: "CWE-" + strconv.Itoa(n), Value: strconv.Itoa(n), URL: "https://cwe.mitre.org/data/definitions/" + strconv.Itoa(n) + ".html"}, true
	}
	return identifier{}, false
}

// identifiersOf lists a finding's identifiers, the primary one first.
//
// The primary identifier is the rule: the CVE, GHSA or CWE identifier when
// the rule id is one (trivy, grype), else one of type "dagsec_<tool>" whose
// value is the rule id (gosec G401, GO-2021-0113, zap-10038, ...) and whose
// link is the finding's help. Then come the CVE, GHSA and CWE ids among the
// finding's tags: a vulnerability's aliases and a weakness's CWE.
func identifiersOf(f findings.Finding) []identifier {
	var out []identifier
	seen := map[string]bool{}
	add := func(id identifier) {
		if k := id.Type + "\x00" + id.Value; !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	if id, ok := standardIdentifier(f.RuleID); ok {
		add(id)
	} else {
		id := identifier{Type: "dagsec_" + snake(f.Tool), Name: f.Tool + " " + oneLine(f.RuleID), Value: f.RuleID}
		if findings.IsWebURL(f.HelpURI) {
			id.URL = f.HelpURI
		}
		add(id)
	}
	for _, t := range f.Tags {
		if id, ok := standardIdentifier(t); ok {
			add(id)
		}
	}
	return out
}

// snake makes a tool name an identifier type: "osv-scanner" → "osv_scanner".
func snake(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "tool"
	}
	return b.String()
}
