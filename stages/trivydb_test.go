package stages_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

// The sca report names trivy's database from `trivy version`, which reads
// the metadata trivy keeps next to its database in the cache.
func TestTrivyDatabaseFromVersion(t *testing.T) {
	bin := testenv.Tool(t, "trivy")
	cache := t.TempDir()
	testenv.Write(t, cache, map[string]string{"db/metadata.json": `{"Version":2,"NextUpdate":"2026-11-28T06:00:00Z","UpdatedAt":"2026-11-27T06:00:00Z","DownloadedAt":"2026-11-27T07:00:00Z"}`})
	out, err := exec.Command(bin, "version", "--cache-dir", cache, "--format", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stages.TrivyDatabase(nil, out), "trivy-db v2, updated 2026-11-27T06:00:00Z"; got != want {
		t.Errorf("trivyDatabase = %q, want %q (trivy printed %s)", got, want, out)
	}
	// Without a database (or its metadata) the report says what it can.
	empty, err := exec.Command(bin, "version", "--cache-dir", t.TempDir(), "--format", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := stages.TrivyDatabase([]byte(`{"SchemaVersion":2,"Trivy":{"Version":"0.74.0"}}`), empty); !strings.Contains(got, "does not name a database version") {
		t.Errorf("trivyDatabase without metadata = %q", got)
	}
}
