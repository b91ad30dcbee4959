package metrics

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// OpenMetrics text exposition (https://openmetrics.io, version 1.0.0): one
// "# TYPE" and "# HELP" line per metric family, then its samples, families
// never interleaved, and "# EOF" last. Label values and help text escape
// backslash, double quote and newline. Serve it with the content type
// OMContentType.

// OMContentType is the HTTP content type of OpenMetrics text.
const OMContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

type omType string

const (
	omGauge omType = "gauge"
	// omInfo families expose one sample named family+"_info" per label set,
	// always 1.
	omInfo omType = "info"
)

type omLabel struct{ name, value string }

type omSample struct {
	labels []omLabel
	value  float64
}

type omFamily struct {
	name    string
	typ     omType
	help    string
	samples []omSample
}

func (f *omFamily) add(value float64, labels ...string) {
	s := omSample{value: value}
	for i := 0; i+1 < len(labels); i += 2 {
		s.labels = append(s.labels, omLabel{labels[i], labels[i+1]})
	}
	f.samples = append(f.samples, s)
}

var omEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// writeOpenMetrics writes the families in order. A sample whose label set
// repeats an earlier one of its family is dropped: OpenMetrics forbids
// duplicate series. A family without samples (a value not known) is left
// out.
func writeOpenMetrics(fams []omFamily) []byte {
	var b bytes.Buffer
	for _, f := range fams {
		if len(f.samples) == 0 {
			continue
		}
		b.WriteString("# TYPE " + f.name + " " + string(f.typ) + "\n")
		if f.help != "" {
			b.WriteString("# HELP " + f.name + " " + omEscaper.Replace(f.help) + "\n")
		}
		sampleName := f.name
		if f.typ == omInfo {
			sampleName += "_info"
		}
		seen := map[string]bool{}
		for _, s := range f.samples {
			var l strings.Builder
			for i, lb := range s.labels {
				if i > 0 {
					l.WriteByte(',')
				}
				l.WriteString(lb.name + `="` + omEscaper.Replace(lb.value) + `"`)
			}
			key := l.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			b.WriteString(sampleName)
			if key != "" {
				b.WriteString("{" + key + "}")
			}
			b.WriteString(" " + omNumber(s.value) + "\n")
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

// omNumber formats a sample value: integers without a fraction, others in
// the shortest decimal form that round-trips.
func omNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
