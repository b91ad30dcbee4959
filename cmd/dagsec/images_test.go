package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/imagelock"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

// mirrorPolicy writes a policy whose images: move every image dagsec runs
// to host (the test registry), and returns it with those images by name.
func mirrorPolicy(t *testing.T, dir, host string) (string, map[string]string) {
	t.Helper()
	images := map[string]string{}
	var b strings.Builder
	b.WriteString("version: 1\nimages:\n")
	for _, n := range imagelock.Names() {
		img := host + "/mirror/" + n + ":1.0"
		images[n] = img
		b.WriteString("  " + n + ": " + img + "\n")
	}
	p := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, images
}

// lockedScan is what a scan's report.json says about the lock.
type lockedScan struct {
	ImagesLock struct {
		File      string   `json:"file"`
		Checked   []string `json:"checked"`
		Unchecked []string `json:"unchecked"`
	} `json:"images_lock"`
	Stages []struct {
		Name  string `json:"name"`
		Tools []struct {
			Name        string `json:"name"`
			LockedImage string `json:"locked_image"`
		} `json:"tools"`
	} `json:"stages"`
}

func readLockedScan(t *testing.T, out string) lockedScan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r lockedScan
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestImagesLockThenScanUsesDigestsAndAMovedTagExitsTwo(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	reg := testenv.Registry(t)
	work := t.TempDir()
	pol, images := mirrorPolicy(t, work, reg)
	digests := map[string]string{}
	for n, img := range images {
		digests[n] = testenv.PushRandomImage(t, img)
	}
	src := testenv.GitRepo(t, testenv.CleanFiles())
	lockFile := filepath.Join(src, imagelock.File)

	code, stdout, stderr := dagsec(t, "images", "lock", "--policy", pol, "--out", lockFile)
	if code != 0 {
		t.Fatalf("images lock: exit %d\n%s%s", code, stdout, stderr)
	}
	lock, err := imagelock.Read(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(lock.Entries) != len(imagelock.Names()) {
		t.Fatalf("lock has %d entries, want %d", len(lock.Entries), len(imagelock.Names()))
	}
	for _, e := range lock.Entries {
		if e.Image != images[e.Name] || e.Digest != digests[e.Name] {
			t.Errorf("%s locked as %s, pushed %s@%s", e.Name, e.Ref(), images[e.Name], digests[e.Name])
		}
	}
	if code, stdout, stderr := dagsec(t, "images", "verify", "--policy", pol, "--images-lock", lockFile); code != 0 {
		t.Fatalf("images verify of a fresh lock: exit %d\n%s%s", code, stdout, stderr)
	}

	// The source's images.lock applies without a flag; report.json's tool
	// rows carry the image by digest.
	out := filepath.Join(work, "report")
	code, stdout, stderr = dagsec(t, "scan", "--stages", "secrets", "--policy", pol, "--out", out, src)
	if code != 0 {
		t.Fatalf("scan with a fresh lock: exit %d\n%s%s", code, stdout, stderr)
	}
	rep := readLockedScan(t, out)
	want := images["gitleaks"] + "@" + digests["gitleaks"]
	found := false
	for _, s := range rep.Stages {
		for _, tool := range s.Tools {
			if tool.Name == "gitleaks" {
				found = true
				if tool.LockedImage != want {
					t.Errorf("gitleaks row: locked_image %q, want %q", tool.LockedImage, want)
				}
			}
		}
	}
	// secrets runs gitleaks and trufflehog: both images checked.
	if !found || rep.ImagesLock.File != lockFile || len(rep.ImagesLock.Checked) != 2 || !slices.Contains(rep.ImagesLock.Checked, want) {
		t.Errorf("report: gitleaks row found %v, images_lock %+v", found, rep.ImagesLock)
	}

	// Someone moves the tag: the scan stops before any tool, naming the
	// image; verify says the same.
	moved := testenv.PushRandomImage(t, images["gitleaks"])
	out2 := filepath.Join(work, "report2")
	code, stdout, stderr = dagsec(t, "scan", "--stages", "secrets", "--policy", pol, "--out", out2, src)
	if code != 2 {
		t.Fatalf("scan after the tag moved: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, w := range []string{images["gitleaks"], "the tag moved", digests["gitleaks"], moved} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not name %q: %s", w, stderr)
		}
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a report folder was written for a moved tag: %v", err)
	}
	code, stdout, stderr = dagsec(t, "images", "verify", "--policy", pol, "--images-lock", lockFile)
	if code != 2 || !strings.Contains(stderr, images["gitleaks"]) || !strings.Contains(stdout, "FAILED gitleaks") {
		t.Errorf("images verify after the tag moved: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestScanWithALockItsRegistryCannotAnswer(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	// Nothing listens on this port: the registry does not answer.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	work := t.TempDir()
	pol, images := mirrorPolicy(t, work, down)
	digests := map[string]string{}
	for n := range images {
		digests[n] = "sha256:" + strings.Repeat("c", 64)
	}
	src := testenv.GitRepo(t, testenv.CleanFiles())
	lockFile := filepath.Join(work, "ci.lock")
	if err := os.WriteFile(lockFile, imagelock.New(images, digests).Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "report")
	code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--policy", pol, "--images-lock", lockFile, "--out", out, src)
	if code != 0 {
		t.Fatalf("offline scan with a lock: exit %d\n%s%s", code, stdout, stderr)
	}
	rep := readLockedScan(t, out)
	if len(rep.ImagesLock.Checked) != 0 || len(rep.ImagesLock.Unchecked) != 2 || !strings.Contains(rep.ImagesLock.Unchecked[0], "registry unreachable") ||
		!strings.Contains(rep.ImagesLock.Unchecked[0], images["gitleaks"]) {
		t.Errorf("images_lock: %+v", rep.ImagesLock)
	}
	if !strings.Contains(stderr, "registry unreachable, digest not checked") {
		t.Errorf("stderr does not say the digest was not checked: %s", stderr)
	}
	// verify exists to ask the registry: there, no answer fails.
	if code, _, stderr := dagsec(t, "images", "verify", "--policy", pol, "--images-lock", lockFile); code != 2 || !strings.Contains(stderr, "registry unreachable") {
		t.Errorf("images verify with the registry down: exit %d: %s", code, stderr)
	}
}

func TestImagesLockInputErrors(t *testing.T) {
	work := t.TempDir()
	src := testenv.GitRepo(t, testenv.CleanFiles())
	tr, _ := stages.LookupTool("trivy")
	lockOf := func(images map[string]string) string {
		digests := map[string]string{}
		for n := range images {
			digests[n] = "sha256:" + strings.Repeat("d", 64)
		}
		return string(imagelock.New(images, digests).Marshal())
	}
	all := imagelock.Images(nil)
	noTrivy := imagelock.Images(nil)
	delete(noTrivy, "trivy")
	for _, tc := range []struct {
		name, lock string
		args       []string
		want       []string
	}{
		{"malformed", "version: 1\nimages:\n  trivy:\n    image: x:y\n    digest: nope\n", nil,
			[]string{"bad.lock:5: images.trivy.digest"}},
		{"stale: a tool without an entry", lockOf(noTrivy), nil,
			[]string{"no entry for trivy (" + tr.Image + ")", "dagsec images lock"}},
		{"stale: the run replaces an image", lockOf(all), []string{"DAGSEC_IMAGE_TRIVY=mirror.example/trivy:0.74.0"},
			[]string{"trivy is locked as " + tr.Image, "this run uses mirror.example/trivy:0.74.0"}},
		{"missing file", "", nil, []string{"no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kv := range tc.args {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			file := filepath.Join(work, "bad.lock")
			os.Remove(file)
			if tc.lock != "" {
				if err := os.WriteFile(file, []byte(tc.lock), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(work, "out")
			code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--images-lock", file, "--out", out, src)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q: %s", w, stderr)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a report folder was written: %v", err)
			}
		})
	}
}
