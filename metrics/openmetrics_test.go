package metrics

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// No OpenMetrics parser is in reach without pulling in Prometheus itself
// (github.com/prometheus/common/expfmt reads the older Prometheus text
// format and rejects the info type; the OpenMetrics parser lives in
// github.com/prometheus/prometheus/model/textparse). parseOpenMetrics checks
// the rules of the OpenMetrics 1.0 ABNF and its semantics that dagsec's
// output touches, strictly:
//   - every line ends in LF, no blank lines, the last line is "# EOF" and
//     nothing follows it;
//   - "#" lines are TYPE, HELP or UNIT descriptors (no comments), at most one
//     of each per family, before the family's samples;
//   - every sample belongs to a family with a TYPE line, named as its type
//     allows (gauge: the family name; info: name_info; counter: _total or
//     _created; ...); families are never interleaved;
//   - metric and label names match their grammars, label values and help
//     text use only the escapes \\ \" \n, a sample repeats no label name;
//   - values are OpenMetrics numbers; info samples are 1;
//   - no two samples are the same series.
//
// It returns each series (name{sorted, unescaped labels}) with its value,
// and each family's type.
func parseOpenMetrics(text string) (map[string]float64, map[string]string, error) {
	if !strings.HasSuffix(text, "# EOF\n") && !strings.HasSuffix(text, "# EOF") {
		return nil, nil, fmt.Errorf("does not end with # EOF")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	series := map[string]float64{}
	types := map[string]string{}
	closed := map[string]bool{} // families whose block ended
	current := ""
	var descriptors map[string]bool
	sampled := false
	enter := func(name string) error {
		if name == current {
			return nil
		}
		if closed[name] {
			return fmt.Errorf("family %s interleaved with another", name)
		}
		if current != "" {
			closed[current] = true
		}
		current, descriptors, sampled = name, map[string]bool{}, false
		return nil
	}
	for i, line := range lines {
		n := i + 1
		if line == "# EOF" {
			if n != len(lines) {
				return nil, nil, fmt.Errorf("line %d: # EOF is not the last line", n)
			}
			continue
		}
		if line == "" {
			return nil, nil, fmt.Errorf("line %d: blank line", n)
		}
		if strings.HasPrefix(line, "#") {
			m := descriptorRE.FindStringSubmatch(line)
			if m == nil {
				return nil, nil, fmt.Errorf("line %d: not a TYPE, HELP or UNIT descriptor: %q", n, line)
			}
			kind, name, rest := m[1], m[2], m[3]
			if err := enter(name); err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", n, err)
			}
			if sampled {
				return nil, nil, fmt.Errorf("line %d: %s of %s after its samples", n, kind, name)
			}
			if descriptors[kind] {
				return nil, nil, fmt.Errorf("line %d: second %s for %s", n, kind, name)
			}
			descriptors[kind] = true
			switch kind {
			case "TYPE":
				if !slices.Contains([]string{"counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary", "unknown"}, rest) {
					return nil, nil, fmt.Errorf("line %d: unknown type %q", n, rest)
				}
				types[name] = rest
			case "HELP":
				if _, err := unescape(rest, false); err != nil {
					return nil, nil, fmt.Errorf("line %d: help: %w", n, err)
				}
			case "UNIT":
				if !strings.HasSuffix(name, "_"+rest) {
					return nil, nil, fmt.Errorf("line %d: %s does not end in its unit %s", n, name, rest)
				}
			}
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", n, err)
		}
		typ, ok := types[current]
		if !ok || !sampleOf(name, current, typ) {
			return nil, nil, fmt.Errorf("line %d: sample %s has no TYPE line of its own family (current family %q)", n, name, current)
		}
		if typ == "info" && value != 1 {
			return nil, nil, fmt.Errorf("line %d: info sample %s is %v, not 1", n, name, value)
		}
		sampled = true
		key := name + "{" + strings.Join(labels, ",") + "}"
		if _, dup := series[key]; dup {
			return nil, nil, fmt.Errorf("line %d: duplicate series %s", n, key)
		}
		series[key] = value
	}
	return series, types, nil
}

var (
	descriptorRE = regexp.MustCompile(`^# (TYPE|HELP|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$`)
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*`)
	numberRE     = regexp.MustCompile(`^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?Inf|NaN)$`)
)

// sampleOf reports whether a sample name belongs to a family of a type.
func sampleOf(sample, family, typ string) bool {
	suffixes := map[string][]string{
		"gauge": {""}, "unknown": {""}, "info": {"_info"}, "stateset": {""},
		"counter": {"_total", "_created"}, "summary": {"", "_count", "_sum", "_created"},
		"histogram": {"_bucket", "_count", "_sum", "_created"}, "gaugehistogram": {"_bucket", "_gcount", "_gsum"},
	}[typ]
	for _, s := range suffixes {
		if sample == family+s {
			return true
		}
	}
	return false
}

// parseSample reads `name{a="x",b="y"} value`, returning the labels as
// sorted a="unescaped" strings.
func parseSample(line string) (string, []string, float64, error) {
	name := metricNameRE.FindString(line)
	if name == "" {
		return "", nil, 0, fmt.Errorf("no metric name in %q", line)
	}
	rest := line[len(name):]
	var labels []string
	seen := map[string]bool{}
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for !strings.HasPrefix(rest, "}") {
			if len(labels) > 0 {
				if !strings.HasPrefix(rest, ",") {
					return "", nil, 0, fmt.Errorf("labels not separated by a comma in %q", line)
				}
				rest = rest[1:]
			}
			ln := labelNameRE.FindString(rest)
			if ln == "" || !strings.HasPrefix(rest[len(ln):], `="`) {
				return "", nil, 0, fmt.Errorf("bad label in %q", line)
			}
			if seen[ln] {
				return "", nil, 0, fmt.Errorf("label %s repeated in %q", ln, line)
			}
			seen[ln] = true
			rest = rest[len(ln)+2:]
			end := closingQuote(rest)
			if end < 0 {
				return "", nil, 0, fmt.Errorf("unterminated label value in %q", line)
			}
			v, err := unescape(rest[:end], true)
			if err != nil {
				return "", nil, 0, fmt.Errorf("label %s: %w", ln, err)
			}
			labels = append(labels, ln+"="+strconv.Quote(v))
			rest = rest[end+1:]
		}
		rest = rest[1:]
	}
	if !strings.HasPrefix(rest, " ") {
		return "", nil, 0, fmt.Errorf("no space before the value in %q", line)
	}
	fields := strings.Split(rest[1:], " ")
	if len(fields) > 2 {
		return "", nil, 0, fmt.Errorf("extra fields in %q", line)
	}
	if !numberRE.MatchString(fields[0]) {
		return "", nil, 0, fmt.Errorf("value %q is not an OpenMetrics number", fields[0])
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, err
	}
	slices.Sort(labels)
	return name, labels, v, nil
}

// closingQuote is the index of the first unescaped double quote.
func closingQuote(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// unescape undoes \\, \" and \n; any other backslash, a raw newline, or (in
// a label value) a raw double quote is an error.
func unescape(s string, label bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("trailing backslash in %q", s)
			}
			i++
			switch s[i] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return "", fmt.Errorf("invalid escape \\%c in %q", s[i], s)
			}
		case c == '\n', label && c == '"':
			return "", fmt.Errorf("unescaped %q in %q", c, s)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// The validator itself rejects what it should, so a passing parse means
// something.
func TestMetricsOpenMetricsValidatorRejectsBrokenText(t *testing.T) {
	good := "# TYPE a gauge\n# HELP a A \\\"gauge\\\".\na{x=\"1\"} 1\na{x=\"2\"} 2.5\n# TYPE b info\nb_info{v=\"a\\\\b\\n\\\"c\\\"\"} 1\n# EOF\n"
	series, types, err := parseOpenMetrics(good)
	if err != nil {
		t.Fatalf("valid text rejected: %v", err)
	}
	if series[`a{x="2"}`] != 2.5 || series[`b_info{v="a\\b\n\"c\""}`] != 1 || types["b"] != "info" {
		t.Fatalf("parsed %v %v", series, types)
	}
	for name, text := range map[string]string{
		"no EOF":              "# TYPE a gauge\na 1\n",
		"text after EOF":      "# TYPE a gauge\na 1\n# EOF\na 2\n",
		"blank line":          "# TYPE a gauge\n\na 1\n# EOF\n",
		"no TYPE":             "a 1\n# EOF\n",
		"comment":             "# TYPE a gauge\n# just a comment\na 1\n# EOF\n",
		"duplicate series":    "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n# EOF\n",
		"duplicate label set": "# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n# EOF\n",
		"interleaved":         "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n# EOF\n",
		"TYPE after samples":  "# TYPE a gauge\na 1\n# HELP a late\n# EOF\n",
		"unescaped quote":     "# TYPE a gauge\na{x=\"say \"hi\"\"} 1\n# EOF\n",
		"bad escape":          "# TYPE a gauge\na{x=\"\\t\"} 1\n# EOF\n",
		"bad value":           "# TYPE a gauge\na 1,5\n# EOF\n",
		"info not 1":          "# TYPE b info\nb_info{v=\"1\"} 2\n# EOF\n",
		"gauge named _info":   "# TYPE b info\nb 1\n# EOF\n",
		"repeated label":      "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n# EOF\n",
		"unknown type":        "# TYPE a enum\na 1\n# EOF\n",
	} {
		if _, _, err := parseOpenMetrics(text); err == nil {
			t.Errorf("%s: accepted %q", name, text)
		}
	}
}
