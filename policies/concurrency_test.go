package policies

import (
	"strings"
	"testing"
)

// concurrency: what a file sets replaces the base's, key by key; bad keys
// and values are errors naming the line.
func TestConcurrency(t *testing.T) {
	cases := []struct {
		yaml string
		want Concurrency
		err  string
	}{
		{"version: 1\nconcurrency:\n  jobs: 3\n", Concurrency{Jobs: 3}, ""},
		{"version: 1\nconcurrency:\n  jobs: 2\n  memory_mb: 8000\n  go_analysers: 1\n", Concurrency{Jobs: 2, MemoryMB: 8000, GoAnalysers: 1}, ""},
		{"version: 1\nconcurrency:\n  jobz: 3\n", Concurrency{}, `p.yaml:3: unknown key "jobz" in concurrency (known: jobs, memory_mb, go_analysers); did you mean "jobs"?`},
		{"version: 1\nconcurrency:\n  jobs: 0\n", Concurrency{}, "p.yaml:3: concurrency.jobs: want 1 to 256, got 0"},
		{"version: 1\nconcurrency:\n  memory_mb: lots\n", Concurrency{}, "p.yaml:3: concurrency.memory_mb: want an integer"},
		{"version: 1\nconcurrency: 4\n", Concurrency{}, "p.yaml:2: concurrency: want a mapping of jobs, memory_mb and go_analysers"},
	}
	for _, tc := range cases {
		p, err := Parse([]byte(tc.yaml), "p.yaml", "")
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.yaml, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.yaml, err)
		case p.Concurrency != tc.want:
			t.Errorf("%q: %+v, want %+v", tc.yaml, p.Concurrency, tc.want)
		default:
			out, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(out, "shown.yaml", "")
			if err != nil || back.Concurrency != tc.want {
				t.Errorf("%q: policy show gives %+v, %v", tc.yaml, back.Concurrency, err)
			}
		}
	}
}
