package stages_test

import (
	"context"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

var anchorSource = map[string]string{
	"go.mod": "module example.com/app\n\ngo 1.22\n\ntoolchain go1.22.5\n\nrequire golang.org/x/text v0.3.0\n\n" +
		"require (\n\tgithub.com/pkg/errors v0.9.1 // indirect\n\tgolang.org/x/net v0.1.0\n)\n",
	"web/package-lock.json": `{
  "name": "web",
  "lockfileVersion": 3,
  "packages": {
    "": {"name": "web", "dependencies": {"left-pad": "1.3.0"}},
    "node_modules/gpl-widget": {"version": "1.2.3", "license": "GPL-3.0-only"},
    "node_modules/left-pad": {"version": "1.3.0"}
  }
}
`,
	"web/yarn.lock":        "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\":\n  version \"7.0.0\"\n\nlodash@^4.17.0:\n  version \"4.17.20\"\n",
	"py/requirements.txt":  "# pinned\nflask==2.0.0\nWerkzeug == 0.11\nPyYAML>=5.1\n",
	"Dockerfile":           "FROM golang:1.26 AS build\nRUN go build\n\nFROM debian:12\nCOPY --from=build /out /app\n",
	"README.md":            "# app\n",
	"main.go":              "package main\n\nfunc main() {\n\tmux.HandleFunc(\"GET /search\", search)\n\tmux.HandleFunc(\"GET /{$}\", index)\n}\n",
	"api/routes.py":        "from flask import Flask\napp = Flask(__name__)\n\n@app.route('/login', methods=['POST'])\ndef login():\n    pass\n",
	"api/other.js":         "router.get('/items', list)\nrouter.post('/items', create)\n",
	"main_test.go":         "package main\n\nfunc TestX() { mux.HandleFunc(\"/healthz\", nil) }\n",
	"vendor/x/x.go":        "package x\n\nfunc init() { http.HandleFunc(\"/vendored\", nil) }\n",
	"docs/not-a-route.txt": "GET /search\n",
}

func TestAnchorPlacesFindingsOnTheirLine(t *testing.T) {
	r, err := host.NewRunner(testenv.Dir(t, anchorSource), testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	vuln := func(path, msg string) findings.Finding {
		return findings.Finding{Stage: stages.SCA, Tool: "osv-scanner", RuleID: "GO-1", Severity: findings.SeverityHigh,
			Message: msg + " has GO-1", Tags: []string{"vulnerability"}, Location: findings.Location{Path: path}}
	}
	dast := func(p string) findings.Finding {
		return findings.Finding{Stage: stages.DAST, Tool: "zap", RuleID: "zap-1", Severity: findings.SeverityLow,
			Message: "m", Location: findings.Location{Request: &findings.Request{Method: "GET", Path: p}}}
	}
	for _, tc := range []struct {
		name       string
		f          findings.Finding
		dockerfile string
		path       string
		line       int
	}{
		{"go.mod require line", vuln("go.mod", "golang.org/x/text@v0.3.0"), "", "go.mod", 7},
		{"go.mod require block", vuln("go.mod", "golang.org/x/net@v0.1.0"), "", "go.mod", 11},
		{"go.mod standard library", vuln("go.mod", "stdlib@v1.22.0"), "", "go.mod", 3},
		{"go.mod toolchain", vuln("go.mod", "toolchain@v1.22.5"), "", "go.mod", 5},
		{"go.mod module not required", vuln("go.mod", "example.org/gone@v1.0.0"), "", "go.mod", 1},
		{"package-lock.json", vuln("web/package-lock.json", "left-pad@1.3.0"), "", "web/package-lock.json", 7},
		{"yarn.lock scoped", vuln("web/yarn.lock", "@babel/core@7.0.0"), "", "web/yarn.lock", 3},
		{"yarn.lock", vuln("web/yarn.lock", "lodash@4.17.20"), "", "web/yarn.lock", 6},
		{"requirements.txt, another spelling", vuln("py/requirements.txt", "werkzeug@0.11"), "", "py/requirements.txt", 3},
		{"requirements.txt", vuln("py/requirements.txt", "pyyaml@5.1"), "", "py/requirements.txt", 4},
		{"license finding in a lockfile", findings.Finding{Stage: stages.Licenses, Tool: "syft", RuleID: "license-denied",
			Severity: findings.SeverityHigh, Message: "package gpl-widget 1.2.3 is licensed under GPL-3.0-only", Tags: []string{"license"},
			Location: findings.Location{Path: "web/package-lock.json"}}, "", "web/package-lock.json", 6},
		{"Dockerfile check without a line", findings.Finding{Stage: stages.Dockerfile, Tool: "trivy", RuleID: "DS-0002",
			Severity: findings.SeverityHigh, Location: findings.Location{Path: "Dockerfile"}}, "", "Dockerfile", 4},
		{"a line given stays", findings.Finding{Stage: stages.SAST, Tool: "gosec", RuleID: "G1", Severity: findings.SeverityHigh,
			Location: findings.Location{Path: "main.go", Line: 2}}, "", "main.go", 2},
		{"any other file", findings.Finding{Stage: stages.SAST, Tool: "semgrep", RuleID: "r", Severity: findings.SeverityLow,
			Location: findings.Location{Path: "README.md"}}, "", "README.md", 1},
		{"a file not in the source", findings.Finding{Stage: stages.SAST, Tool: "semgrep", RuleID: "r", Severity: findings.SeverityLow,
			Location: findings.Location{Path: "gone.py"}}, "", "gone.py", 0},
		{"DAST: Go ServeMux route", dast("/search?q=<script>"), "Dockerfile", "main.go", 4},
		{"DAST: Go exact root", dast("/"), "Dockerfile", "main.go", 5},
		{"DAST: Flask route", dast("/login"), "", "api/routes.py", 4},
		{"DAST: two registrations are ambiguous", dast("/items"), "", "", 0},
		{"DAST: test files and vendor do not count", dast("/healthz"), "", "", 0},
		{"DAST: no route, the Dockerfile", dast("/robots.txt"), "Dockerfile", "Dockerfile", 1},
		{"DAST: no route, no Dockerfile", dast("/vendored"), "Dockerfile.missing", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := []findings.Finding{tc.f}
			stages.Anchor(context.Background(), r, fs, tc.dockerfile)
			if l := fs[0].Location; l.Path != tc.path || l.Line != tc.line {
				t.Errorf("at %s:%d, want %s:%d", l.Path, l.Line, tc.path, tc.line)
			}
			if tc.f.Location.Request != nil && fs[0].Location.Request == nil {
				t.Error("the request was dropped")
			}
		})
	}
}
