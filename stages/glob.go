package stages

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
)

// MatchGlob reports whether a slash path matches a doublestar pattern: "*"
// and "?" stay inside one path element, a "**" element matches any number of
// elements (none included), as in Dagger's Directory.glob.
func MatchGlob(pattern, name string) bool {
	return matchGlob(pattern, name, false)
}

// matchGlob matches the "/"-separated segments of pat against those of
// name, taking them one at a time without splitting either (a suppression
// is matched against every finding); done means no segment of name is left.
func matchGlob(pat, name string, done bool) bool {
	for {
		seg, rest, more := strings.Cut(pat, "/")
		if seg == "**" {
			for seg == "**" {
				if !more {
					return true
				}
				pat = rest
				seg, rest, more = strings.Cut(pat, "/")
			}
			for !done {
				if matchGlob(pat, name, false) {
					return true
				}
				_, next, found := strings.Cut(name, "/")
				if !found {
					return false
				}
				name = next
			}
			return false
		}
		if done {
			return false
		}
		nseg, nrest, found := strings.Cut(name, "/")
		if ok, err := path.Match(seg, nseg); err != nil || !ok {
			return false
		}
		if !more {
			return !found
		}
		pat, name, done = rest, nrest, !found
	}
}

// skippedDirs hold dependencies, VCS data, test fixtures (testdata, as the Go
// tools treat it) and dagsec's own output, not code the project ships.
var skippedDirs = []string{".git", "node_modules", ".venv", "vendor", "testdata", "dagsec-report"}

// Skipped reports whether a source path lies in a folder no stage scans for
// language detection (dependencies, VCS data, dagsec's own output).
func Skipped(rel string) bool {
	for _, el := range strings.Split(rel, "/") {
		if slices.Contains(skippedDirs, el) {
			return true
		}
	}
	return false
}

// FindFiles globs every pattern over the probe and returns the matches
// outside skipped folders, sorted and without duplicates.
func FindFiles(ctx context.Context, probe Probe, patterns ...string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range patterns {
		ms, err := probe.Glob(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("looking for %s: %w", p, err)
		}
		for _, m := range ms {
			m = strings.TrimPrefix(m, "./")
			if !seen[m] && !Skipped(m) {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Dirs returns the folders of the given files ("." for the root), sorted
// and without duplicates.
func Dirs(files []string) []string {
	var out []string
	for _, f := range files {
		d := path.Dir(f)
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}
