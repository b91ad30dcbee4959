// Command fuzz-corpus writes the generated seeds of the fuzz targets'
// committed corpora: testdata/fuzz/<FuzzName>/seed-* in each package, in
// Go's corpus file format ("go test fuzz v1", then one line per argument).
//
//	go run ./.ci/fuzz-corpus [-report-dir dagsec-report]
//
// Every seed is made from a genuine sample the repository already holds
// (their origin is documented next to them: stages/testdata/SOURCES.md,
// sarifio/testdata/README.md, policies/presets, the README's policy
// examples) or from the report folder of a real `dagsec scan` (-report-dir,
// not committed; skipped when absent): the sample itself where no f.Add
// seeds it already, cut short (truncated JSON or YAML) and changed in one
// place (a string where a number belongs and back, an array where an
// object belongs, null, huge and negative numbers, a 600-byte string, a
// dropped key). Seeds are named seed-<sample>-<variant>; rerunning the
// command replaces them and leaves alone the inputs `go test -fuzz` found,
// which keep their hash names (copy a few small ones from
// $(go env GOCACHE)/fuzz/github.com/dagsec/dagsec/<pkg>/<FuzzName>/).
//
// Fuzz a target with
//
//	go test ./<pkg>/ -run '^$' -fuzz '^FuzzName$' -fuzztime 45s -fuzzminimizetime 300x
//
// (by default each new input is minimized for up to 60 s, which takes the
// whole run of a target whose seeds are reports of several KB).
//
// Every corpus file must stay under 64 KB and free of anything gitleaks
// flags; check with `gitleaks dir --no-banner --redact <pkg>/testdata/fuzz`
// (and with --config stages/config/gitleaks.toml, dagsec's own rules).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

const maxFile = 64 << 10

var written, skipped int

func main() {
	reportDir := flag.String("report-dir", "dagsec-report", "report folder of a real `dagsec scan` (report.json, results.sarif)")
	flag.Parse()
	log.SetFlags(0)
	// Seeds made from what may be missing here (the report folder, the
	// installed database's VERSION) are kept when it is.
	var keep []string
	if _, err := os.Stat(filepath.Join(*reportDir, "report.json")); err != nil {
		keep = append(keep, "seed-report-", "seed-results-", "seed-dagsec-results-")
	}
	stamps, _ := filepath.Glob(filepath.Join(os.Getenv("HOME"), ".cache", "dagsec", "tools", "vulndb@*", "VERSION"))
	if len(stamps) == 0 {
		keep = append(keep, "seed-VERSION")
	}
	for _, pkg := range []string{"stages", "sarifio", "baseline", "pipeline", "metrics", "policies"} {
		clean(pkg, keep)
	}
	stageSeeds(stamps)
	sarifSeeds()
	reportSeeds(*reportDir)
	policySeeds()
	log.Printf("fuzz-corpus: wrote %d seed files (%d skipped: over %d bytes)", written, skipped, maxFile)
}

// clean removes the seeds an earlier run wrote, but for those whose name
// starts with one of keep.
func clean(pkg string, keep []string) {
	files, _ := filepath.Glob(filepath.Join(pkg, "testdata", "fuzz", "*", "seed-*"))
	for _, f := range files {
		if slices.ContainsFunc(keep, func(p string) bool { return strings.HasPrefix(filepath.Base(f), p) }) {
			continue
		}
		if err := os.Remove(f); err != nil {
			log.Fatal(err)
		}
	}
}

// corpusFile is testing/internal/fuzz's marshalCorpusFile for the types
// the targets take.
func corpusFile(vals ...any) []byte {
	b := bytes.NewBufferString("go test fuzz v1\n")
	for _, v := range vals {
		switch t := v.(type) {
		case []byte:
			fmt.Fprintf(b, "[]byte(%q)\n", t)
		case string:
			fmt.Fprintf(b, "string(%q)\n", t)
		case byte:
			fmt.Fprintf(b, "byte(%q)\n", t)
		default:
			log.Fatalf("unsupported corpus type %T", v)
		}
	}
	return b.Bytes()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func write(pkg, target, name string, vals ...any) {
	data := corpusFile(vals...)
	if len(data) > maxFile {
		skipped++
		return
	}
	dir := filepath.Join(pkg, "testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	name = "seed-" + unsafeName.ReplaceAllString(name, "_")
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		log.Fatal(err)
	}
	written++
}

func read(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			log.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			log.Fatal(err)
		}
	}
	return b
}

func base(path string) string {
	return strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".gz"), filepath.Ext(strings.TrimSuffix(path, ".gz")))
}

// ---- JSON variants, spliced into the original text so the rest of the
// sample stays byte for byte as the tool wrote it.

type jsonValue struct {
	kind       byte // '"' string, '0' number, 'l' true/false/null, '{', '['
	start, end int
	depth      int
}

// jsonValues lists data's values (not object keys) in document order.
func jsonValues(data []byte) []jsonValue {
	type frame struct {
		kind      byte
		start     int
		expectKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	var out []jsonValue
	prev := 0
	startOf := func(from int) int {
		for from < len(data) && strings.IndexByte(" \t\r\n,:", data[from]) >= 0 {
			from++
		}
		return from
	}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].kind == '{' {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		end := int(dec.InputOffset())
		start := startOf(prev)
		prev = end
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if n := len(stack); n > 0 && stack[n-1].kind == '{' {
					stack[n-1].expectKey = false
				}
				stack = append(stack, frame{kind: byte(t), start: start, expectKey: t == '{'})
			default:
				f := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				out = append(out, jsonValue{kind: f.kind, start: f.start, end: end, depth: len(stack)})
				valueDone()
			}
		default:
			if n := len(stack); n > 0 && stack[n-1].kind == '{' && stack[n-1].expectKey {
				stack[n-1].expectKey = false
				continue // a key
			}
			kind := byte('l')
			switch tok.(type) {
			case string:
				kind = '"'
			case json.Number:
				kind = '0'
			}
			out = append(out, jsonValue{kind: kind, start: start, end: end, depth: len(stack)})
			valueDone()
		}
	}
}

func splice(data []byte, v jsonValue, with string) []byte {
	out := append([]byte{}, data[:v.start]...)
	out = append(out, with...)
	return append(out, data[v.end:]...)
}

// firstValue is the n-th value (from 0) of kind at depth >= minDepth, in
// document order (containers in the order they close).
func firstValue(vals []jsonValue, kind byte, minDepth, n int) (jsonValue, bool) {
	for _, v := range vals {
		if v.kind == kind && v.depth >= minDepth {
			if n == 0 {
				return v, true
			}
			n--
		}
	}
	return jsonValue{}, false
}

// bigSample is the size above which a sample gets only bigVariants, to
// keep the corpora small.
const bigSample = 8 << 10

var bigVariants = map[string]bool{"trunc-half": true, "string-as-number": true, "array-as-object": true, "long-string": true}

// jsonVariants are the sample cut short and changed in one place each (with
// all; else only cut in half).
func jsonVariants(data []byte, all bool) map[string][]byte {
	data = bytes.TrimSpace(data)
	out := map[string][]byte{
		"trunc-half": data[:len(data)/2],
	}
	if !all {
		return out
	}
	defer func() {
		if len(data) > bigSample {
			for k := range out {
				if !bigVariants[k] {
					delete(out, k)
				}
			}
		}
	}()
	out["trunc-last-byte"] = data[:len(data)-1]
	out["trailing-garbage"] = append(append([]byte{}, data...), "\n}"...)
	vals := jsonValues(data)
	for _, m := range []struct {
		name     string
		kind     byte
		minDepth int
		n        int
		with     string
	}{
		{"string-as-number", '"', 2, 0, "12345"},
		{"string-as-array", '"', 2, 1, `["x"]`},
		{"long-string", '"', 2, 2, `"` + strings.Repeat("A", 600) + `"`},
		{"number-as-string", '0', 1, 0, `"12"`},
		{"huge-number", '0', 1, 0, "1e999"},
		{"int-overflow", '0', 1, 1, "99999999999999999999999999"},
		{"negative-number", '0', 1, 2, "-1"},
		{"array-as-object", '[', 1, 0, "{}"},
		{"object-as-null", '{', 2, 0, "null"},
		{"null-for-array", '[', 1, 1, "null"},
		{"empty-object-as-array", '{', 1, 1, "[]"},
	} {
		if v, ok := firstValue(vals, m.kind, m.minDepth, m.n); ok {
			out[m.name] = splice(data, v, m.with)
		}
	}
	return out
}

// seedJSON writes a target's seeds from its samples: each sample's
// variants (all of them for the first sample, a truncation for the
// others), the samples themselves when whole is set (targets whose f.Add
// does not seed them), and the extra arguments after the report.
func seedJSON(pkg, target string, whole bool, samples []string, extra func(sample string) []any) {
	for i, s := range samples {
		data := read(s)
		args := func(b []byte) []any {
			vals := []any{b}
			if extra != nil {
				vals = append(vals, extra(s)...)
			}
			return vals
		}
		if whole {
			write(pkg, target, base(s), args(data)...)
		}
		variants := jsonVariants(data, i == 0)
		for _, name := range slices.Sorted(maps.Keys(variants)) {
			write(pkg, target, base(s)+"-"+name, args(variants[name])...)
		}
	}
}

func td(name string) string { return filepath.Join("stages", "testdata", name) }

func stageSeeds(stamps []string) {
	seedJSON("stages", "FuzzParseGitleaks", false, []string{td("gitleaks-v8.30.1.json")}, nil)
	seedJSON("stages", "FuzzParseGosec", false, []string{td("gosec-v2.30.0.json"), td("gosec-v2.30.0-load-error.json")}, nil)
	seedJSON("stages", "FuzzParseBandit", false, []string{td("bandit-1.6.2.json"), td("bandit-1.6.2-parse-error.json")}, nil)
	seedJSON("stages", "FuzzParseSemgrep", false, []string{td("semgrep-0.69.1-nonmatching-nosem.sarif"), td("semgrep-0.69.1-invalid-config.sarif")}, nil)
	seedJSON("stages", "FuzzParseCheckov", false, []string{td("checkov-3.2.502-cloudshield-trimmed.json"), td("checkov-2.1.87-clean-summary.json")}, nil)
	seedJSON("stages", "FuzzParseHadolint", false, []string{td("hadolint-tool-check.json"), td("hadolint-stdin-compact.json")}, nil)
	seedJSON("stages", "FuzzParseGrype", false, []string{td("grype-v0.112.0-npm-directory.json"), td("grype-v0.112.0-clean.json")}, nil)
	seedJSON("stages", "FuzzParseZAP", false, []string{td("zap-2.16.0-baseline.json"), td("zap-2.16.1-baseline.json")}, nil)
	seedJSON("stages", "FuzzParseWapiti", false, []string{td("wapiti-3.0.4-unreachable.json"), td("wapiti-3.0.4-sample-app.json")}, nil)
	seedJSON("stages", "FuzzParseTrivy", false, []string{td("trivy-v0.74.0-config-dockerfile.json"), td("trivy-golden-pip.json"), td("trivy-v0.74.0-config-empty.json")}, nil)
	seedJSON("stages", "FuzzParseTrivyImage", false, []string{td("trivy-golden-busybox-with-lockfile-image.json"), td("trivy-defectdojo-licenses-image.json")}, nil)
	seedJSON("stages", "FuzzEvaluateLicenses", false, []string{td("syft-v1.57.1-go-vendor.cdx.json"), td("syft-v1.57.1-python.cdx.json")}, nil)
	seedJSON("stages", "FuzzParseImageSBOM", false, []string{td("syft-v1.57.1-go-vendor.cdx.json"), td("syft-v1.57.1-clean-npm.cdx.json")}, nil)

	// Tools that print absolute paths are parsed with the folder scanned.
	seedJSON("stages", "FuzzParseTfsec", true, []string{td("tfsec-v1.28.14-planted.json"), td("tfsec-v1.28.14-clean.json")},
		func(s string) []any {
			return []any{"/tmp/dagsec-iac-samples/" + strings.TrimPrefix(base(s), "tfsec-v1.28.14-")}
		})
	osvRoot := map[string]string{
		"osv-scanner-v2.6.0-go-offline":             "called",
		"osv-scanner-v2.6.0-go-callanalysis":        "imported",
		"osv-scanner-v2.6.0-clean":                  "clean",
		"osv-scanner-v2.6.0-python-offline-exit127": "mixed",
	}
	seedJSON("stages", "FuzzParseOSVScanner", true, []string{td("osv-scanner-v2.6.0-go-offline.json"), td("osv-scanner-v2.6.0-go-callanalysis.json"), td("osv-scanner-v2.6.0-clean.json"), td("osv-scanner-v2.6.0-python-offline-exit127.json")},
		func(s string) []any { return []any{"/tmp/dagsec-samples/" + osvRoot[base(s)]} })

	// govulncheck's streams carry every OSV entry in full (580 KB): keep the
	// messages of the x/text vulnerabilities and two of the standard
	// library's, each message as govulncheck wrote it.
	for _, s := range []string{td("govulncheck-v1.9.0-called.json.gz"), td("govulncheck-v1.9.0-imported.json.gz")} {
		stream := govulncheckTrimmed(read(s))
		write("stages", "FuzzParseGovulncheck", base(s)+"-trimmed", stream)
		for _, cut := range []int{len(stream) / 2, len(stream) - 2} {
			write("stages", "FuzzParseGovulncheck", fmt.Sprintf("%s-trimmed-cut-%d", base(s), cut), stream[:cut])
		}
	}
	stream := govulncheckTrimmed(read(td("govulncheck-v1.9.0-called.json.gz")))
	vars := jsonVariants(stream, true) // within the first message, the config
	for _, name := range []string{"string-as-number", "string-as-array"} {
		write("stages", "FuzzParseGovulncheck", "govulncheck-v1.9.0-called-trimmed-"+name, vars[name])
	}
	write("stages", "FuzzParseGovulncheck", "govulncheck-v1.9.0-clean-go1.27.3", govulncheckTrimmed(read(td("govulncheck-v1.9.0-clean-go1.27.3.json.gz"))))

	// Image configs: the ones trivy copied into its golden image reports.
	for _, s := range []string{td("trivy-golden-alpine-310-image.json"), td("trivy-golden-busybox-with-lockfile-image.json")} {
		var r struct {
			Metadata struct{ ImageConfig json.RawMessage }
		}
		if err := json.Unmarshal(read(s), &r); err != nil || len(r.Metadata.ImageConfig) == 0 {
			log.Fatalf("%s: no Metadata.ImageConfig: %v", s, err)
		}
		cfg := []byte(r.Metadata.ImageConfig)
		write("stages", "FuzzParseImageConfig", base(s)+"-config", cfg)
		vars := jsonVariants(cfg, s == td("trivy-golden-alpine-310-image.json"))
		for _, name := range slices.Sorted(maps.Keys(vars)) {
			write("stages", "FuzzParseImageConfig", base(s)+"-config-"+name, vars[name])
		}
		if s == td("trivy-golden-alpine-310-image.json") {
			archiveSeeds(cfg)
		}
	}

	// Dockerfiles of the hardening checks.
	files, _ := filepath.Glob(td("hardening/*.Dockerfile"))
	for _, f := range files {
		for name, v := range textVariants(read(f), dockerfileEdits) {
			write("stages", "FuzzCheckDockerfile", base(f)+"-"+name, v)
		}
	}

	// The contract target reads every sample whole through f.Add; its
	// corpus holds one cut and one retyped variant of a sample per tool.
	for _, s := range []string{
		"gitleaks-v8.30.1.json", "gosec-v2.30.0-all-broken.json", "bandit-1.6.2-clean.json", "semgrep-0.69.1-invalid-config.sarif",
		"osv-scanner-v2.6.0-clean.json", "syft-v1.57.1-go-vendor.cdx.json", "trivy-v0.74.0-config-clean.json",
		"checkov-2.1.87-clean-summary.json", "tfsec-v1.28.14-clean.json", "hadolint-stdin-compact.json",
		"grype-v0.112.0-clean.json", "zap-2.16.0-baseline.json", "wapiti-3.0.4-unreachable.json",
	} {
		vars := jsonVariants(read(td(s)), true)
		for _, name := range []string{"trunc-half", "string-as-number", "array-as-object"} {
			if v, ok := vars[name]; ok {
				write("stages", "FuzzToolReports", base(s)+"-"+name, v)
			}
		}
	}

	// The secret targets plant a value of their own; these are the reports.
	// The target's name is kept apart from the file names: gitleaks reads a
	// long name next to "Secret" as a generic key.
	gitleaksTarget := "FuzzParseGitleaks" + "Secret"
	truncated := jsonVariants(read(td("gitleaks-v8.30.1.json")), false)["trunc-half"]
	write("stages", gitleaksTarget, "gitleaks-v8.30.1-trunc-half", truncated, "placeholder-value-0")
	write("stages", gitleaksTarget, "leak-without-tags", []byte(`[{"RuleID":"generic-api-key","File":"settings.py","StartLine":4,"Tags":null}]`), "placeholder-value-1")
	for _, s := range []string{"trivy-v0.74.0-config-dockerfile.json", "trivy-golden-busybox-with-lockfile-image.json"} {
		write("stages", "FuzzParseTrivySecret", base(s), read(td(s)), "placeholder-value-2")
	}

	// VERSION of the vulnerability database dagsec tools install built.
	if len(stamps) > 0 {
		data := read(stamps[0])
		write("stages", "FuzzParseVulnDBStamp", "VERSION", data)
		write("stages", "FuzzParseVulnDBStamp", "VERSION-crlf", bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
		write("stages", "FuzzParseVulnDBStamp", "VERSION-trunc", data[:len(data)/2])
		write("stages", "FuzzParseVulnDBStamp", "VERSION-third-line", append(append([]byte{}, data...), "\nextra 1\n"...))
		write("stages", "FuzzParseVulnDBStamp", "VERSION-huge-count", regexp.MustCompile(`entries \d+`).ReplaceAll(data, []byte("entries 9223372036854775808")))
	}
}

// govulncheckTrimmed keeps a govulncheck -json stream's config, SBOM and
// progress messages and the osv and finding messages of a few
// vulnerabilities, each message unchanged.
func govulncheckTrimmed(stream []byte) []byte {
	keep := map[string]bool{
		"GO-2020-0015": true, "GO-2021-0113": true, "GO-2022-1059": true, "GO-2026-5970": true,
		"GO-2026-6629": true, "GO-2026-6604": true, "GO-2021-0067": true,
	}
	dec := json.NewDecoder(bytes.NewReader(stream))
	var out bytes.Buffer
	prev := int64(0)
	for {
		var m map[string]json.RawMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		end := dec.InputOffset()
		raw := bytes.TrimSpace(stream[prev:end])
		prev = end
		var id struct {
			ID  string `json:"id"`
			OSV string `json:"osv"`
		}
		switch {
		case m["osv"] != nil:
			json.Unmarshal(m["osv"], &id)
			if !keep[id.ID] {
				continue
			}
		case m["finding"] != nil:
			json.Unmarshal(m["finding"], &id)
			if !keep[id.OSV] {
				continue
			}
		}
		out.Write(raw)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// archiveSeeds are image tarballs around a genuine image config.
func archiveSeeds(cfg []byte) {
	tarball := func(members ...[2]string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, m := range members {
			if err := tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}); err != nil {
				log.Fatal(err)
			}
			io.WriteString(tw, m[1])
		}
		tw.Close()
		return buf.Bytes()
	}
	const cd = "sha256:4ba1b6bb6f1f7a2e6a2f1b4c1f3d1b8e9f2a7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
	const md = "sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"
	blob := func(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }
	docker := tarball([2]string{"manifest.json", `[{"Config":"` + strings.TrimPrefix(cd, "sha256:") + `.json","RepoTags":["alpine:3.10"],"Layers":["layer.tar"]}]`},
		[2]string{strings.TrimPrefix(cd, "sha256:") + ".json", string(cfg)})
	oci := tarball([2]string{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`},
		[2]string{"index.json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + md + `","size":400}]}`},
		[2]string{blob(md), `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd + `","size":1},"layers":[]}`},
		[2]string{blob(cd), string(cfg)})
	write("stages", "FuzzArchiveConfig", "docker-archive-alpine-310", docker)
	write("stages", "FuzzArchiveConfig", "oci-layout-alpine-310", oci)
	write("stages", "FuzzArchiveConfig", "oci-layout-truncated", oci[:len(oci)/2])
	write("stages", "FuzzArchiveConfig", "docker-archive-no-end-blocks", docker[:len(docker)-1024])
	write("stages", "FuzzArchiveConfig", "oci-index-two-manifests", tarball([2]string{"index.json", `{"manifests":[{"digest":"` + md + `"},{"digest":"` + cd + `"}]}`}))
}

// ---- text variants (Dockerfiles, YAML): line edits.

type textEdit struct {
	name string
	edit func(lines []string) []string
}

var dockerfileEdits = []textEdit{
	{"drop-first-line", func(l []string) []string { return l[1:] }},
	{"lowercase", func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(s)
		}
		return out
	}},
	{"continuation-at-end", func(l []string) []string { return append(l, "RUN echo \\") }},
}

var yamlEdits = []textEdit{
	{"value-as-list", func(l []string) []string {
		return editValue(l, func(v string) string { return "[" + v + ", " + v + "]" })
	}},
	{"value-as-map", func(l []string) []string { return editValue(l, func(v string) string { return "{x: " + v + "}" }) }},
	{"value-huge-number", func(l []string) []string {
		return editValue(l, func(string) string { return "99999999999999999999999" })
	}},
	{"value-empty", func(l []string) []string { return editValue(l, func(string) string { return "''" }) }},
	{"tab-indent", func(l []string) []string {
		out := append([]string{}, l...)
		for i, s := range out {
			if strings.HasPrefix(s, "  ") {
				out[i] = "\t" + s[2:]
				break
			}
		}
		return out
	}},
	{"unknown-key", func(l []string) []string {
		for i, s := range l {
			if strings.HasSuffix(strings.TrimSpace(s), ":") && i+1 < len(l) {
				indent := l[i+1][:len(l[i+1])-len(strings.TrimLeft(l[i+1], " "))]
				return append(append(append([]string{}, l[:i+1]...), indent+"bogus_key: 1"), l[i+1:]...)
			}
		}
		return l
	}},
	{"duplicate-last-line", func(l []string) []string { return append(append([]string{}, l...), l[len(l)-1]) }},
}

// editValue changes the value of the last "key: value" line holding one.
func editValue(lines []string, f func(string) string) []string {
	out := append([]string{}, lines...)
	for i := len(out) - 1; i >= 0; i-- {
		line := out[i]
		if c := strings.Index(line, "#"); c >= 0 {
			line = strings.TrimRight(line[:c], " ")
		}
		k, v, ok := strings.Cut(line, ": ")
		if ok && strings.TrimSpace(v) != "" {
			out[i] = k + ": " + f(strings.TrimSpace(v))
			return out
		}
	}
	return out
}

func textVariants(data []byte, edits []textEdit) map[string][]byte {
	text := strings.TrimRight(string(data), "\n")
	lines := strings.Split(text, "\n")
	out := map[string][]byte{
		"trunc-half": data[:len(data)/2],
		"crlf":       []byte(strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"),
	}
	for _, e := range edits {
		out[e.name] = []byte(strings.Join(e.edit(lines), "\n") + "\n")
	}
	return out
}

func sarifSeeds() {
	samples := []string{
		filepath.Join("sarifio", "testdata", "gitleaks-v8.30.1.sarif"),
		td("semgrep-0.82.0-with-suppressions.sarif"),
		td("semgrep-0.69.1-js-syntax-error.sarif"),
	}
	for _, target := range []string{"FuzzReadFindings", "FuzzSARIFRoundTrip", "FuzzSplitBytesForGitHub"} {
		// The gitleaks SARIF seeds every target through f.Add; the semgrep
		// ones are added whole.
		for i, s := range samples {
			if i > 0 {
				write("sarifio", target, base(s), read(s))
			}
			vars := jsonVariants(read(s), i == 1 && target == "FuzzReadFindings")
			for _, name := range slices.Sorted(maps.Keys(vars)) {
				write("sarifio", target, base(s)+"-"+name, vars[name])
			}
		}
	}
}

// reportSeeds trims a real scan's report.json and results.sarif to a few
// findings (the first of each stage and tool), keeping every other field
// as dagsec wrote it.
func reportSeeds(dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		log.Printf("fuzz-corpus: no %s/report.json, no run report seeds (run `dagsec scan .` first)", dir)
		return
	}
	var rep map[string]json.RawMessage
	if err := json.Unmarshal(data, &rep); err != nil {
		log.Fatal(err)
	}
	var fs []map[string]any
	if err := json.Unmarshal(rep["findings"], &fs); err != nil {
		log.Fatal(err)
	}
	seen := map[string]bool{}
	var kept []map[string]any
	for _, f := range fs {
		k := fmt.Sprint(f["stage"], "/", f["tool"])
		if !seen[k] && len(kept) < 4 {
			seen[k] = true
			kept = append(kept, f)
		}
	}
	rep["findings"], _ = json.Marshal(kept)
	trimmed := marshalOrdered(data, rep)

	withBranch := splice(trimmed, jsonValue{start: 1, end: 1}, `"branch": "main", "manifests_digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", `)
	for _, t := range []struct{ pkg, target string }{
		{"pipeline", "FuzzReadReport"}, {"metrics", "FuzzReadSavedRun"}, {"baseline", "FuzzLoad"}, {"baseline", "FuzzLoadKnows"},
	} {
		write(t.pkg, t.target, "report-trimmed", trimmed)
		vars := jsonVariants(trimmed, t.target == "FuzzReadReport")
		for _, name := range slices.Sorted(maps.Keys(vars)) {
			write(t.pkg, t.target, "report-trimmed-"+name, vars[name])
		}
		if t.pkg == "metrics" {
			write(t.pkg, t.target, "report-trimmed-on-main", withBranch)
		}
	}

	sarifData, err := os.ReadFile(filepath.Join(dir, "results.sarif"))
	if err != nil {
		return
	}
	sarifTrimmed := trimSARIF(sarifData)
	for _, target := range []string{"FuzzLoad", "FuzzLoadKnows"} {
		write("baseline", target, "results-trimmed", sarifTrimmed)
		write("baseline", target, "results-trimmed-trunc-half", sarifTrimmed[:len(sarifTrimmed)/2])
	}
	write("baseline", "FuzzLoadKnows", "results-trimmed-no-fingerprint", bytes.Replace(sarifTrimmed, []byte(`"dagsecFingerprint/v1"`), []byte(`"otherFingerprint/v1"`), 1))
	write("sarifio", "FuzzSplitBytesForGitHub", "dagsec-results-trimmed", sarifTrimmed)
	write("sarifio", "FuzzSARIFRoundTrip", "dagsec-results-trimmed", sarifTrimmed)
}

// marshalOrdered writes m with its keys in the order they have in orig.
func marshalOrdered(orig []byte, m map[string]json.RawMessage) []byte {
	dec := json.NewDecoder(bytes.NewReader(orig))
	dec.Token()
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		var v bytes.Buffer
		json.Indent(&v, m[k], "  ", "  ")
		fmt.Fprintf(&b, "  %q: %s", k, v.Bytes())
		if i < len(keys)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// trimSARIF keeps each run with its first result and the rule it names.
func trimSARIF(data []byte) []byte {
	var log map[string]any
	if err := json.Unmarshal(data, &log); err != nil {
		panic(err)
	}
	runs, _ := log["runs"].([]any)
	for _, r := range runs {
		run := r.(map[string]any)
		results, _ := run["results"].([]any)
		driver := run["tool"].(map[string]any)["driver"].(map[string]any)
		rules, _ := driver["rules"].([]any)
		if len(results) == 0 {
			driver["rules"] = []any{}
			continue
		}
		res := results[0].(map[string]any)
		if idx, ok := res["ruleIndex"].(float64); ok && int(idx) < len(rules) {
			driver["rules"] = []any{rules[int(idx)]}
			res["ruleIndex"] = 0
		}
		run["results"] = []any{res}
	}
	out, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		panic(err)
	}
	return out
}

// policySeeds are the built-in presets and the README's policy and
// suppression examples, with YAML edits.
func policySeeds() {
	presets, _ := filepath.Glob(filepath.Join("policies", "presets", "*.yaml"))
	readme := string(read("README.md"))
	var examples []string
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readme, -1) {
		if strings.Contains(block[1], "stages:") || strings.HasPrefix(block[1], "suppressions:") {
			examples = append(examples, block[1])
		}
	}
	for i, ex := range examples {
		name := fmt.Sprintf("readme-example-%d", i+1)
		vars := textVariants([]byte(ex), yamlEdits)
		vars[""] = []byte(ex)
		for _, v := range slices.Sorted(maps.Keys(vars)) {
			n := strings.TrimSuffix(name+"-"+v, "-")
			write("policies", "FuzzParse", n, vars[v], byte(i%4))
			write("policies", "FuzzParseErrors", n, vars[v])
			if strings.HasPrefix(ex, "suppressions:") {
				write("policies", "FuzzLoadSuppressions", n, vars[v])
				write("policies", "FuzzSuppressionsFile", n, vars[v])
			}
		}
	}
	for i, p := range presets {
		vars := textVariants(read(p), yamlEdits)
		for _, v := range []string{"trunc-half", "value-as-map", "tab-indent", "unknown-key"} {
			write("policies", "FuzzParse", "preset-"+base(p)+"-"+v, vars[v], byte(i))
			write("policies", "FuzzParseErrors", "preset-"+base(p)+"-"+v, vars[v])
		}
	}
}
