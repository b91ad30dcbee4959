package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
)

// A Go module requiring github.com/evilsocket/islazy v1.11.0 (GPL-3.0, served
// by the Go module proxy), without a vendor folder: the licenses stage
// downloads the modules into the Go module cache (a fresh one here, so the
// download is what makes the license known), syft reads the license there,
// and the default gate blocks on it.
func TestScanLicensesBlocksAGPLGoDependencyWithoutVendor(t *testing.T) {
	testenv.Tool(t, "syft")
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("GOFLAGS", "-modcacherw") // so the test can remove the cache
	t.Cleanup(func() { exec.Command("go", "clean", "-modcache").Run() })
	dir := testenv.Dir(t, map[string]string{
		"go.mod": "module example.com/gpl\n\ngo 1.22\n\nrequire github.com/evilsocket/islazy v1.11.0\n",
		"go.sum": "github.com/evilsocket/islazy v1.11.0 h1:B5w6uuS6ki6iDG+aH/RFeoMb8ijQh/pGabewqp2UeJ0=\n" +
			"github.com/evilsocket/islazy v1.11.0/go.mod h1:muYH4x5MB5YRdkxnrOtrXLIBX6LySj1uFIqys94LKdo=\n",
		"main.go": "package main\n\nimport \"github.com/evilsocket/islazy/str\"\n\nfunc main() { println(str.Trim(\" x \")) }\n",
	})
	rep, out := scanReport(t, 1, "--stages", "licenses", dir)
	if row := toolRow(t, rep, "licenses", "syft"); row.Error != "" {
		t.Fatalf("syft: %s", row.Error)
	}
	found := false
	for _, f := range rep.Findings {
		if strings.Contains(f.Message, "github.com/evilsocket/islazy") {
			found = true
			if f.RuleID != "license-denied" || !strings.Contains(f.Message, "GPL-3.0") {
				t.Errorf("islazy: %s %q, want license-denied naming GPL-3.0", f.RuleID, f.Message)
			}
		}
	}
	if !found {
		t.Fatalf("no license finding for islazy:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(cache, "github.com", "evilsocket", "islazy@v1.11.0", "LICENSE.md")); err != nil {
		t.Errorf("the module was not downloaded into GOMODCACHE: %v", err)
	}
	if i := slices.IndexFunc(rep.Stages, func(s pipeline.StageReport) bool { return s.Name == "licenses" }); i < 0 || rep.Stages[i].Status != "blocked" {
		t.Errorf("licenses stage not blocked:\n%s", out)
	}
}
