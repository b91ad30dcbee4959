package stages_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

func TestVulnDBStampRoundTrip(t *testing.T) {
	st := stages.VulnDBStamp{Module: stages.VulnDBModule, Version: stages.VulnDBVersion, Entries: 4789}
	b := st.Marshal()
	if want := "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018\nentries 4789\n"; string(b) != want {
		t.Fatalf("VERSION file %q, want %q", b, want)
	}
	got, err := stages.ParseVulnDBStamp(b)
	if err != nil || got != st {
		t.Fatalf("%+v, %v", got, err)
	}
	if got.String() != "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018" {
		t.Errorf("String() = %s", got)
	}
	for _, bad := range []string{
		"", "golang.org/x/vulndb@v1\n", "golang.org/x/vulndb\nentries 3\n", "golang.org/x/vulndb@v1\nentries x\n",
		"golang.org/x/vulndb@v1\nentries 0\n", "golang.org/x/vulndb@v1\nentries -2\n", "a@b\ncount 3\n",
		"golang.org/x/vulndb@v1\nentries 3\nextra\n", "@v1\nentries 3\n", "golang.org/x/vulndb@\nentries 3\n",
	} {
		if st, err := stages.ParseVulnDBStamp([]byte(bad)); err == nil {
			t.Errorf("ParseVulnDBStamp(%q) = %+v, want an error", bad, st)
		}
	}
}

// vulnDBDir returns the pinned local vulnerability database, building it into
// the shared tools folder the first time (a few minutes).
func vulnDBDir(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir, err := testenv.Installer(t).EnsureVulnDB(ctx)
	if err != nil {
		t.Fatalf("vulnerability database: %v", err)
	}
	return dir
}

// Planted Go modules, the same as the ones the testdata samples were made
// from (see testdata/SOURCES.md). golang.org/x/text v0.3.0 has GO-2021-0113
// (CVE-2021-38561) in language.Parse, among others.
func vulnCalledModule() map[string]string {
	return map[string]string{
		"go.mod": "module example.com/called\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.0\n",
		"main.go": `package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse("en-US")
	fmt.Println(tag, err)
}
`,
	}
}

// vulnImportedModule imports golang.org/x/text/language but calls none of its
// vulnerable functions.
func vulnImportedModule() map[string]string {
	return map[string]string{
		"go.mod": "module example.com/imported\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.0\n",
		"main.go": `package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() {
	fmt.Println(language.English.String())
}
`,
	}
}

func vulnCleanModule() map[string]string {
	return map[string]string{
		"go.mod":  "module example.com/clean\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
	}
}

// vulnPlantModule writes a module and tidies it through the Go module proxy,
// which fills the module cache and writes go.sum; the scans then run with
// GOPROXY=off.
func vulnPlantModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := testenv.Dir(t, files)
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	return dir
}

// vulnGoEnv reads one `go env` setting.
func vulnGoEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}
