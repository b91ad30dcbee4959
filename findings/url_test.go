package findings

import "testing"

func TestIsWebURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://example.com/rules/G101":           true,
		"http://localhost:8080/x?y=1#z":            true,
		"":                                         false,
		"https//example.com/x":                     false,
		"www.zaproxy.org/docs/alerts/10038/":       false,
		"https://a.example/1\nhttps://b.example/2": false,
		"https://a.example/1 https://b.example/2":  false,
		"http://[::1":                              false,
		"ftp://example.com/file":                   false,
		"javascript:alert(1)":                      false,
		"https:///no-host":                         false,
		"https://example.com/\x7f":                 false,
	} {
		if got := IsWebURL(s); got != want {
			t.Errorf("IsWebURL(%q) = %v, want %v", s, got, want)
		}
	}
}
