package stages

import (
	"context"
	"path"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/dagsec/dagsec/findings"
)

// Anchor puts findings on the line they are about, reading the source
// through probe. Code scanning anchors an alert at a line; tools often name
// only a file:
//
//   - a dependency finding at go.mod goes to the require line of its
//     module (golang.org/x/mod/modfile's positions), the standard library's
//     to the go line, the toolchain's to the toolchain line;
//   - one at a lockfile or manifest to the first line naming the package
//     as that file's format writes it (package-lock.json's
//     "node_modules/NAME", yarn's NAME@, requirements.txt's NAME==, ...);
//   - a Dockerfile finding without a line (trivy's DS-0002 "no USER",
//     DS-0026 "no HEALTHCHECK") to the FROM of the final stage, the stage it
//     judges;
//   - any other file of the source to line 1.
//
// A DAST finding (Location.Request, no file) is placed at the handler the
// source registers for its route, when exactly one route registration
// names its path ("GET /search" in a Go ServeMux, @app.route("/search"),
// app.get('/search')); else at dockerfile, the image the scanned app runs
// from, when it is set and exists; else it keeps no file.
//
// Lines and files that cannot be read leave a finding as it was: anchoring
// never fails a stage. Fingerprints do not depend on lines, so they stay.
func Anchor(ctx context.Context, probe Probe, fs []findings.Finding, dockerfile string) {
	files := map[string][]byte{}
	read := func(p string) ([]byte, bool) {
		if data, ok := files[p]; ok {
			return data, data != nil
		}
		data, err := probe.ReadFile(ctx, p)
		if err != nil {
			data = nil
		}
		files[p] = data
		return data, data != nil
	}
	var routes *routeIndex
	for i := range fs {
		l := &fs[i].Location
		switch {
		case l.Path == "" && l.Request != nil:
			if routes == nil {
				routes = indexRoutes(ctx, probe, read)
			}
			if file, line, ok := routes.handler(l.Request.Path); ok {
				l.Path, l.Line = file, line
			} else if _, ok := read(dockerfile); ok && dockerfile != "" {
				l.Path, l.Line = dockerfile, 1
			}
		case l.Path != "" && l.Line <= 0:
			if data, ok := read(l.Path); ok {
				l.Line = lineAbout(&fs[i], l.Path, data)
			}
		}
	}
}

// lineAbout is the line of a file (its content data) that finding f,
// which names the file only, is about; 1 when nothing better is known.
func lineAbout(f *findings.Finding, file string, data []byte) int {
	base := path.Base(file)
	switch {
	case base == "go.mod":
		return goModLine(f, file, data)
	case isDockerfile(file):
		if df, err := parseDockerfile(data); err == nil {
			if st, err := readHardeningStages(df); err == nil && len(st.stages) > 0 {
				return st.stages[len(st.stages)-1].from.StartLine
			}
		}
	default:
		if name, _, ok := f.Package(); ok {
			if n := packageLine(base, name, data); n > 0 {
				return n
			}
		}
	}
	return 1
}

// goModLine finds the require line of the finding's module; the go line
// for the standard library, the toolchain line (else the go line) for the
// toolchain; the module line when the module is not required directly.
func goModLine(f *findings.Finding, file string, data []byte) int {
	// Parse reads every directive; ParseLax (for go.mod files newer than
	// x/mod knows) skips toolchain.
	mf, err := modfile.Parse(file, data, nil)
	if err != nil {
		if mf, err = modfile.ParseLax(file, data, nil); err != nil {
			return 1
		}
	}
	name, _, _ := f.Package()
	goLine := 0
	if mf.Go != nil && mf.Go.Syntax != nil {
		goLine = mf.Go.Syntax.Start.Line
	}
	switch name {
	case "stdlib":
		if goLine > 0 {
			return goLine
		}
	case "toolchain":
		if mf.Toolchain != nil && mf.Toolchain.Syntax != nil {
			return mf.Toolchain.Syntax.Start.Line
		}
		if goLine > 0 {
			return goLine
		}
	}
	for _, r := range mf.Require {
		if name != "" && r.Mod.Path == name && r.Syntax != nil {
			return r.Syntax.Start.Line
		}
	}
	if mf.Module != nil && mf.Module.Syntax != nil {
		return mf.Module.Syntax.Start.Line
	}
	return 1
}

// packageLine is the first line of a lockfile or manifest that names the
// package, in the form its format writes it; 0 when none does.
func packageLine(base, name string, data []byte) int {
	q := regexp.QuoteMeta(name)
	var forms []string
	switch {
	case base == "package-lock.json" || base == "npm-shrinkwrap.json":
		forms = []string{`"node_modules/` + q + `"`, `"` + q + `"\s*:`}
	case base == "yarn.lock":
		forms = []string{`^"?` + q + `@`}
	case base == "pnpm-lock.yaml":
		forms = []string{`^\s*'?/?` + q + `[@/]`}
	case strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt"):
		// PyPI names compare without case, "-", "_" and "." alike.
		py := regexp.MustCompile(`[-_.]+`).ReplaceAllString(regexp.QuoteMeta(strings.ToLower(name)), `[-_.]+`)
		forms = []string{`(?i)^\s*` + py + `\s*(\[|[=<>~!;@ ]|$)`}
	case base == "Gemfile.lock":
		forms = []string{`^\s+` + q + ` \(`}
	}
	// Every format quotes names somewhere ("name": "x", name = "x").
	forms = append(forms, `["']`+q+`["']`, `(^|[^\w.@/-])`+q+`($|[^\w.-])`)
	lines := strings.Split(string(data), "\n")
	for _, form := range forms {
		re, err := regexp.Compile(form)
		if err != nil {
			continue
		}
		for i, l := range lines {
			if re.MatchString(l) {
				return i + 1
			}
		}
	}
	return 0
}

// isDockerfile reports whether a path is named like a Dockerfile
// (DockerfilePatterns).
func isDockerfile(p string) bool {
	return slices.ContainsFunc(DockerfilePatterns, func(pat string) bool { return MatchGlob(pat, p) })
}

// routeSources are the files route registrations are looked for in.
var routeSources = []string{"**/*.go", "**/*.py", "**/*.js", "**/*.ts", "**/*.rb", "**/*.php", "**/*.java", "**/*.kt"}

// maxRouteFiles bounds how many source files the route lookup reads.
const maxRouteFiles = 2000

// routeIndex holds the source's lines that register routes.
type routeIndex struct {
	lines []routeLine
}

type routeLine struct {
	file string
	line int
	text string
}

// routeCall is a line that calls a routing function: net/http's
// Handle/HandleFunc, the verbs of gin, echo, chi, express and their kind,
// Flask's route, Django's path.
var routeCall = regexp.MustCompile(`\b(HandleFunc|Handle|Get|Post|Put|Delete|Patch|GET|POST|PUT|DELETE|PATCH|get|post|put|delete|patch|route|Route|path|re_path|HandlerFunc)\s*\(\s*["'` + "`" + `]`)

func indexRoutes(ctx context.Context, probe Probe, read func(string) ([]byte, bool)) *routeIndex {
	idx := &routeIndex{}
	files, err := FindFiles(ctx, probe, routeSources...)
	if err != nil {
		return idx
	}
	if len(files) > maxRouteFiles {
		files = files[:maxRouteFiles]
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, ok := read(f)
		if !ok {
			continue
		}
		for i, l := range strings.Split(string(data), "\n") {
			if routeCall.MatchString(l) {
				idx.lines = append(idx.lines, routeLine{f, i + 1, l})
			}
		}
	}
	return idx
}

// handler finds the one route registration of a URL path (its query
// left out): a string literal that is the path, optionally after a method
// ("GET /search") and, for "/", Go's exact-match "/{$}".
func (idx *routeIndex) handler(urlPath string) (file string, line int, ok bool) {
	p, _, _ := strings.Cut(urlPath, "?")
	p, _, _ = strings.Cut(p, "#")
	if p == "" {
		p = "/"
	}
	alts := regexp.QuoteMeta(p)
	if strings.HasSuffix(p, "/") {
		alts += `|` + regexp.QuoteMeta(p+"{$}")
	}
	re := regexp.MustCompile(`["'` + "`" + `]((GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) )?(` + alts + `)["'` + "`" + `]`)
	found := 0
	for _, rl := range idx.lines {
		if re.MatchString(rl.text) {
			found++
			file, line = rl.file, rl.line
		}
	}
	return file, line, found == 1
}
