package findings

import (
	"slices"
	"strings"
)

// SplitPackage splits "name@version" at its last "@"; a leading "@" is part
// of the name (npm scopes: "@babel/core@7.0.0").
func SplitPackage(s string) (name, version string) {
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// Package is the package a finding is about. Identity, which
// holds it, is never exported, so it is read from the message, whose start
// the parsers of dagsec's stages write in a fixed form:
//
//   - vulnerabilities (tag "vulnerability": trivy, grype, osv-scanner,
//     govulncheck): the message starts with "NAME@VERSION" ("Werkzeug@0.11
//     is affected by ...", "postcss@8.4.31 (npm) is affected by ...",
//     "stdlib@v1.26.8 has GO-...", a Go module path without "@VERSION" when
//     govulncheck knows no version);
//   - syft's license findings (tool syft, tag "license"): "package NAME
//     [VERSION] [(PURL)] is licensed under ..." or "... declares no license";
//   - trivy's license findings (tag "license"): "NAME is licensed under ...",
//     unless NAME is the finding's path (a license file, not a package);
//     trivy does not give the version there.
//
// Any other finding has no package, and a package matcher never matches it.
func (f *Finding) Package() (name, version string, ok bool) {
	switch {
	case slices.Contains(f.Tags, "vulnerability"):
		tok, _, _ := strings.Cut(f.Message, " ")
		name, version = SplitPackage(tok)
		return name, version, name != ""
	case !slices.Contains(f.Tags, "license"):
		return "", "", false
	case f.Tool == "syft":
		rest, ok := strings.CutPrefix(f.Message, "package ")
		if !ok {
			return "", "", false
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return "", "", false
		}
		if len(fields) > 1 && fields[1] != "is" && fields[1] != "declares" && !strings.HasPrefix(fields[1], "(") {
			version = fields[1]
		}
		return fields[0], version, true
	default:
		name, _, ok := strings.Cut(f.Message, " is licensed under ")
		if !ok || name == "" || name == f.Location.Path {
			return "", "", false
		}
		return name, "", true
	}
}
