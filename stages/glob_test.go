package stages

import "testing"

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"**/*.go", "main.go", true},
		{"**/*.go", "a/b/c.go", true},
		{"**/*.go", "a/b/c.gox", false},
		{"*.go", "a/main.go", false},
		{"**/Dockerfile", "Dockerfile", true},
		{"**/Dockerfile", "svc/api/Dockerfile", true},
		{"**/Dockerfile.*", "Dockerfile.prod", true},
		{"**/Dockerfile.*", "Dockerfile", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "c/a/b", false},
		{"**", "anything/at/all", true},
		{"[", "x", false},
		{"a/**/**/b", "a/x/b", true},
		{"a/**", "a", true},
		{"a/**", "b/c", false},
		{"web/static/**", "web/static/js/app.js", true},
		{"a/*", "a/b/c", false},
		{"a/b", "a", false},
		{"a", "a/b", false},
		{"", "", true},
		{"", "a", false},
		{"a/", "a/", true},
		{"a/", "a", false},
	}
	for _, c := range cases {
		if got := MatchGlob(c.pattern, c.name); got != c.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestSkipped(t *testing.T) {
	for rel, want := range map[string]bool{
		"main.go": false, "vendor/x/y.go": true, "web/node_modules/a/package.json": true,
		".git/config": true, "dagsec-report/report.json": true, "vendored/x.go": false, "stages/testdata/a.Dockerfile": true,
	} {
		if got := Skipped(rel); got != want {
			t.Errorf("Skipped(%q) = %v, want %v", rel, got, want)
		}
	}
}
