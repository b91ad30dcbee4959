package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/attest"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
)

// keyPair makes a cosign key pair with the real cosign, the private key
// under COSIGN_PASSWORD, and returns the key files.
func keyPair(t *testing.T, cosign, dir string) (key, pub string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cosign, "generate-key-pair")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=test-password")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// onlyDelivery disables the stages these runs do not scan, so production
// is gated by build and image alone.
const onlyDelivery = `version: 1
stages:
  secrets: {enabled: false}
  sast: {enabled: false}
  sca: {enabled: false}
  licenses: {enabled: false}
  iac: {enabled: false}
  dockerfile: {enabled: false}
  api: {enabled: false}
  staging: {enabled: false}
  dast: {enabled: false}
`

func stageOf(t *testing.T, out, name string) pipeline.StageReport {
	t.Helper()
	rep, err := pipeline.ReadReportFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %s in %s", name, out)
	return pipeline.StageReport{}
}

// The Must-show: sign and attest a test image tarball with the real
// cosign, verify it in production (same run, and a later run given the
// report folder), and a tampered attestation, a missing one or another
// key blocks production, naming the check.
func TestSignAttestVerifyRoundTripAndTamperedAttestationBlocksProduction(t *testing.T) {
	cosign := testenv.Tool(t, "cosign")
	for _, tool := range []string{"trivy", "syft"} {
		testenv.Tool(t, tool)
	}
	work := t.TempDir()
	key, pub := keyPair(t, cosign, filepath.Join(work, "keys"))
	_, otherPub := keyPair(t, cosign, filepath.Join(work, "other-keys"))
	t.Setenv("COSIGN_PASSWORD", "test-password")
	files := testenv.PlantedImageFiles()
	delete(files, "app/config.env") // its AWS key would block the image stage
	tar, _ := testenv.ImageTarball(t, testenv.ImageSpec{Files: files, User: "65532:65532"})
	src := testenv.GitRepo(t, testenv.CleanCodeFiles())
	pol := filepath.Join(work, "policy.yaml")
	if err := os.WriteFile(pol, []byte(onlyDelivery), 0o644); err != nil {
		t.Fatal(err)
	}
	deployed := func(n string) string { return filepath.Join(work, "deployed-"+n) }

	// One run: build and image judge the image, it is signed and attested,
	// production verifies and deploys.
	signed := filepath.Join(work, "signed")
	code, stdout, stderr := dagsec(t, "scan", "--stages", "build,image,production", "--policy", pol, "--image-tar", tar,
		"--sign", "--cosign-key", key, "--cosign-public-key", pub, "--deploy-prod-cmd", "touch "+deployed("1"), "--out", signed, src)
	if code != 0 {
		t.Fatalf("sign, attest, verify, deploy: exit %d\n%s%s", code, stdout, stderr)
	}
	if prod := stageOf(t, signed, "production"); prod.Status != "passed" || !strings.Contains(prod.Reason, "signature and attestations verified") || len(prod.Tools) != 3 {
		t.Fatalf("production: %+v", prod)
	}
	if _, err := os.Stat(deployed("1")); err != nil {
		t.Fatalf("not deployed: %v", err)
	}
	img := stageOf(t, signed, "image")
	cosignRows := 0
	for _, tr := range img.Tools {
		if tr.Name == "cosign" {
			cosignRows++
			if tr.Error != "" || tr.Version != "v2.6.1" {
				t.Errorf("image stage's cosign row: %+v", tr)
			}
		}
	}
	if cosignRows != 3 {
		t.Errorf("image stage lists %d cosign runs, want 3 (sign, two attestations): %+v", cosignRows, img.Tools)
	}
	// The provenance is about the tarball and says what the pipeline did.
	env, err := os.ReadFile(filepath.Join(signed, attest.ProvenanceAttestation))
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.ReadStatement(env)
	if err != nil {
		t.Fatal(err)
	}
	tarData, _ := os.ReadFile(tar)
	sum := sha256.Sum256(tarData)
	v, err := attest.ProvenanceVerdict(st)
	if err != nil || len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] != hex.EncodeToString(sum[:]) ||
		v.Verdict != "passed" || v.Stages["build"] != "passed" || v.Stages["image"] != "passed" || v.Version != pipeline.Version {
		t.Fatalf("provenance statement %+v, verdict %+v, %v", st.Subject, v, err)
	}
	head := strings.TrimSpace(gitOut(t, src, "rev-parse", "HEAD"))
	if !strings.Contains(string(st.Predicate), `"commit":"`+head+`"`) || !strings.Contains(string(st.Predicate), `"dockerfile":"Dockerfile"`) {
		t.Errorf("provenance predicate lacks the commit %s or the Dockerfile: %s", head, st.Predicate)
	}
	if sb, err := os.ReadFile(filepath.Join(signed, attest.SBOMAttestation)); err != nil {
		t.Fatal(err)
	} else if s, err := attest.ReadStatement(sb); err != nil || s.PredicateType != attest.PredicateCycloneDX {
		t.Errorf("SBOM attestation: %+v %v", s, err)
	}

	// A later run deploys from the signed run's report folder.
	later := func(n, pubKey, reports string) (int, string, string, string) {
		out := filepath.Join(work, "later-"+n)
		code, stdout, stderr := dagsec(t, "scan", "--stages", "production", "--policy", pol, "--image-tar", tar,
			"--reports", reports, "--cosign-public-key", pubKey, "--deploy-prod-cmd", "touch "+deployed(n), "--out", out, src)
		return code, stdout + stderr, out, deployed(n)
	}
	if code, output, _, marker := later("2", pub, signed); code != 0 {
		t.Fatalf("deploy from the signed report folder: exit %d\n%s", code, output)
	} else if _, err := os.Stat(marker); err != nil {
		t.Fatalf("not deployed: %v", err)
	}

	// Each way the evidence can be wrong blocks production, names what
	// failed, and deploys nothing.
	copyFolder := func(name string, edit func(dir string)) string {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range append(attest.Files(), "report.json") {
			data, err := os.ReadFile(filepath.Join(signed, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		edit(dir)
		return dir
	}
	tampered := copyFolder("tampered", func(dir string) {
		// The provenance now claims another commit: its signature no longer
		// matches its payload.
		p := filepath.Join(dir, attest.ProvenanceAttestation)
		var e map[string]any
		if err := json.Unmarshal(env, &e); err != nil {
			t.Fatal(err)
		}
		payload, _ := base64.StdEncoding.DecodeString(e["payload"].(string))
		payload = []byte(strings.Replace(string(payload), head, strings.Repeat("0", 40), 1))
		e["payload"] = base64.StdEncoding.EncodeToString(payload)
		data, _ := json.Marshal(e)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	swapped := copyFolder("swapped", func(dir string) {
		// The SBOM attestation put where the provenance belongs: a valid
		// signature over the wrong predicate type.
		data, _ := os.ReadFile(filepath.Join(dir, attest.SBOMAttestation))
		if err := os.WriteFile(filepath.Join(dir, attest.ProvenanceAttestation), data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	missing := copyFolder("missing", func(dir string) { os.Remove(filepath.Join(dir, attest.SBOMAttestation)) })
	// The same image signed by a run whose licenses stage blocked (a
	// GPL-3.0 dependency; licenses holds back staging, not the image): the
	// signature and attestations are genuine, and the provenance says so.
	planted := testenv.PlantedFiles()
	gpl := testenv.GitRepo(t, map[string]string{"Dockerfile": testenv.CleanCodeFiles()["Dockerfile"],
		"web/package.json": planted["web/package.json"], "web/package-lock.json": planted["web/package-lock.json"]})
	blockedRun := filepath.Join(work, "blocked-run")
	licensesToo := strings.Replace(onlyDelivery, "  licenses: {enabled: false}\n", "", 1)
	if err := os.WriteFile(pol+".licenses", []byte(licensesToo), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := dagsec(t, "scan", "--stages", "licenses,build,image", "--policy", pol+".licenses", "--image-tar", tar,
		"--sign", "--cosign-key", key, "--out", blockedRun, gpl); code != 1 {
		t.Fatalf("signing run with a denied license: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	judgedBlocked := copyFolder("judged-blocked", func(dir string) {
		for _, f := range attest.Files() { // the passing run's report, the blocked run's evidence
			data, err := os.ReadFile(filepath.Join(blockedRun, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name, pub, reports string
		want               []string
	}{
		{"tampered provenance", pub, tampered, []string{"provenance attestation (image-provenance.att.json) does not verify", "signatures do not match"}},
		{"wrong predicate type", pub, swapped, []string{"provenance attestation (image-provenance.att.json) does not verify", "invalid predicate type"}},
		{"another key", otherPub, signed, []string{"signature (image.sig) does not verify against the cosign public key"}},
		{"missing attestation", pub, missing, []string{"has no SBOM attestation (image-sbom.att.json)"}},
		{"provenance of a blocked run", pub, judgedBlocked, []string{`the provenance attestation records the pipeline's verdict "blocked" (licenses blocked)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := strings.ReplaceAll(tc.name, " ", "-")
			code, output, out, marker := later(n, tc.pub, tc.reports)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (production blocked)\n%s", code, output)
			}
			prod := stageOf(t, out, "production")
			for _, w := range tc.want {
				if prod.Status != "blocked" || !strings.Contains(prod.Reason, w) {
					t.Errorf("production %s: %q, want it to say %q", prod.Status, prod.Reason, w)
				}
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("deployed anyway: %v", err)
			}
			if summary, _ := os.ReadFile(filepath.Join(out, "summary.md")); !strings.Contains(string(summary), tc.want[0]) {
				t.Errorf("summary.md does not say which check failed:\n%s", summary)
			}
		})
	}
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return string(out)
}
