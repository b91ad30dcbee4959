// Package imagelock reads and writes images.lock: every image dagsec runs,
// pinned to the digest its tag had when it was locked. It knows the file's
// format only; imagelock/resolve asks registries.
//
// The format (YAML, written sorted so the same images give the same bytes):
//
//	# images.lock: ... (comments are ignored)
//	version: 1
//	images:
//	  gitleaks:                               # a tool name, or helper
//	    image: ghcr.io/gitleaks/gitleaks:v8.30.1   # the reference a run uses
//	    digest: sha256:<64 hex digits>        # what its tag resolved to
//
// A run with a lock runs IMAGE@DIGEST for every tool; a tool whose image
// (the pin, DAGSEC_IMAGE_<TOOL>, the policy's images:, a module option)
// has no entry, or an entry for another image, makes the run fail.
package imagelock

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// File is the lock's name at a source's root.
const File = "images.lock"

// Helper names dagsec's own small-job image (stages.HelperImage), as the
// policy's images: does.
const Helper = policies.HelperImageKey

// Version is the format version this package reads and writes.
const Version = 1

// MaxSize bounds a lock file read; a real one is about 2 KB.
const MaxSize = 1 << 20

// Entry is one locked image.
type Entry struct {
	Name   string // tool name, or Helper
	Image  string // the reference as runs name it, with its tag
	Digest string // sha256:...
	Line   int    // where the entry is written; 0 when not read from a file
}

// Ref is the image pinned by digest: IMAGE@DIGEST.
func (e Entry) Ref() string { return e.Image + "@" + e.Digest }

// Lock is a parsed images.lock.
type Lock struct {
	File    string  // where it was read from, for messages
	Entries []Entry // sorted by Name
}

// Names are the keys a lock may hold: every pinned tool and Helper.
func Names() []string { return append(stages.ToolNames(), Helper) }

// Images is what a run uses, by name: each pinned tool's image
// (stages.LookupTool, so DAGSEC_IMAGE_<TOOL> applies) and the helper's,
// with overrides (the policy's images:, the module's options) over them.
func Images(overrides map[string]string) map[string]string {
	out := map[string]string{Helper: stages.HelperImage}
	for _, n := range stages.ToolNames() {
		t, _ := stages.LookupTool(n)
		out[n] = t.Image
	}
	for n, img := range overrides {
		if img != "" {
			out[n] = img
		}
	}
	return out
}

// RunNames are the lock's names a run of the selected stages uses: their
// tools, the helper when an engine stage (build, image, staging,
// production) reads image tarballs or probes staging with it, and cosign
// for production, which verifies signed images with it.
func RunNames(selected []string) []string {
	var names []string
	for _, s := range selected {
		d, _ := stages.Lookup(s)
		names = append(names, d.Tools...)
		if s == stages.Build || s == stages.Image || s == stages.Staging || s == stages.Production {
			names = append(names, Helper)
		}
		if s == stages.Production {
			names = append(names, "cosign")
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// New makes a lock of resolved images: name -> image and name -> digest.
func New(images, digests map[string]string) *Lock {
	l := &Lock{}
	for _, n := range slices.Sorted(maps.Keys(images)) {
		l.Entries = append(l.Entries, Entry{Name: n, Image: images[n], Digest: digests[n]})
	}
	return l
}

// Entry returns the entry of a name.
func (l *Lock) Entry(name string) (Entry, bool) {
	i := slices.IndexFunc(l.Entries, func(e Entry) bool { return e.Name == name })
	if i < 0 {
		return Entry{}, false
	}
	return l.Entries[i], true
}

// Pins returns IMAGE@DIGEST for every image a run uses (Images), or an
// error naming each image the lock does not hold as the run names it: a
// lock made before a pin or an override changed must be made again, never
// passed over.
func (l *Lock) Pins(images map[string]string) (map[string]string, error) {
	pins := map[string]string{}
	var stale []string
	for _, n := range slices.Sorted(maps.Keys(images)) {
		e, ok := l.Entry(n)
		switch {
		case !ok:
			stale = append(stale, fmt.Sprintf("no entry for %s (%s)", n, images[n]))
		case e.Image != images[n]:
			stale = append(stale, fmt.Sprintf("%s is locked as %s (line %d), but this run uses %s", n, e.Image, e.Line, images[n]))
		default:
			pins[n] = e.Ref()
		}
	}
	if len(stale) > 0 {
		return nil, fmt.Errorf("%s does not match the images this run uses: %s; run `dagsec images lock` again", l.File, strings.Join(stale, "; "))
	}
	return pins, nil
}

// Marshal writes the lock in its format, entries sorted by name.
func (l *Lock) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# images.lock: every image dagsec runs, pinned to the digest its tag had when\n")
	b.WriteString("# `dagsec images lock` resolved it. The Dagger module runs IMAGE@DIGEST; `dagsec\n")
	b.WriteString("# scan` and `dagsec images verify` check that each tag still has its digest.\n")
	fmt.Fprintf(&b, "version: %d\nimages:\n", Version)
	entries := slices.SortedFunc(slices.Values(l.Entries), func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	for _, e := range entries {
		fmt.Fprintf(&b, "  %s:\n    image: %s\n    digest: %s\n", e.Name, e.Image, e.Digest)
	}
	return b.Bytes()
}

// Read reads and parses a lock file.
func Read(path string) (*Lock, error) {
	data, err := readfile.Read(path, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("images lock: %w", err)
	}
	return Parse(data, path)
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Parse reads a lock; every problem is reported, each naming the file, the
// line and the field.
func Parse(data []byte, file string) (*Lock, error) {
	p := &parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s is empty: want version: %d and images:", file, Version)
	}
	root := doc.Content[0]
	l := &Lock{File: file}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "want a mapping with version and images")
		return nil, p.err()
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		seen[k.Value] = true
		switch k.Value {
		case "version":
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Value != fmt.Sprint(Version) {
				p.errorf(v, "version: want %d, got %q", Version, v.Value)
			}
		case "images":
			l.Entries = p.images(v)
		default:
			p.errorf(k, "unknown key %q (keys: version, images)", k.Value)
		}
	}
	for _, key := range []string{"version", "images"} {
		if !seen[key] {
			p.errorf(root, "%s is required", key)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return l, nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, args...)))
}

func (p *parser) err() error { return errors.Join(p.errs...) }

func (p *parser) images(v *yaml.Node) []Entry {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "images: want a mapping of tool names to {image, digest}")
		return nil
	}
	var out []Entry
	names := Names()
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, m := v.Content[i], v.Content[i+1]
		at := "images." + k.Value
		if !slices.Contains(names, k.Value) {
			p.errorf(k, "%s: unknown tool %q (names: %s)", at, k.Value, strings.Join(names, ", "))
			continue
		}
		if slices.ContainsFunc(out, func(e Entry) bool { return e.Name == k.Value }) {
			p.errorf(k, "%s appears twice", at)
			continue
		}
		if e, ok := p.entry(k.Value, m, at); ok {
			e.Line = k.Line
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (p *parser) entry(name string, m *yaml.Node, at string) (Entry, bool) {
	if m.Kind != yaml.MappingNode {
		p.errorf(m, "%s: want {image: REFERENCE, digest: sha256:...}", at)
		return Entry{}, false
	}
	e := Entry{Name: name}
	n := len(p.errs)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		fat := at + "." + k.Value
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			p.errorf(v, "%s: want a string", fat)
			continue
		}
		switch k.Value {
		case "image":
			if msg := checkImage(v.Value); msg != "" {
				p.errorf(v, "%s: %s", fat, msg)
			}
			e.Image = v.Value
		case "digest":
			if !digestRE.MatchString(v.Value) {
				p.errorf(v, "%s: want sha256: and 64 lowercase hex digits, got %q", fat, v.Value)
			}
			e.Digest = v.Value
		default:
			p.errorf(k, "%s: unknown key %q (keys: image, digest)", at, k.Value)
		}
	}
	if e.Image == "" && len(p.errs) == n {
		p.errorf(m, "%s.image is required", at)
	}
	if e.Digest == "" && len(p.errs) == n {
		p.errorf(m, "%s.digest is required", at)
	}
	return e, len(p.errs) == n
}

// checkImage rejects what cannot be a tagged image reference.
func checkImage(s string) string {
	switch {
	case s == "":
		return "is empty"
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Sprintf("%q has whitespace", s)
	case strings.Contains(s, "@"):
		return fmt.Sprintf("%q already names a digest: write the tag here and the digest under digest", s)
	case strings.Contains(s, "://"):
		return fmt.Sprintf("%q is a URL, not an image reference", s)
	}
	return ""
}
