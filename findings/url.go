package findings

import (
	"net/url"
	"strings"
)

// IsWebURL reports whether s is an absolute http or https URL with a host
// and no whitespace: the only help links dagsec passes on. Tools write
// scheme-less links ("www.zaproxy.org/…"), several in one field, or broken
// ones, and SARIF's helpUri and GitLab's links must be URIs.
func IsWebURL(s string) bool {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
