package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dagsec/dagsec/attest"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// signing is the run's one signing of the built image: it happens once
// every stage but production has its verdict (at production's start, or
// after the DAG when production does not run), so the provenance records
// them.
type signing struct {
	once  sync.Once
	err   error
	tools []ToolReport
}

// recordStatus keeps a stage's verdict as it finishes, for the provenance.
func (rec *recorder) recordStatus(name string, s policies.Status) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.statuses == nil {
		rec.statuses = map[string]policies.Status{}
	}
	rec.statuses[name] = s
}

func (rec *recorder) verdicts() map[string]policies.Status {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return maps.Clone(rec.statuses)
}

func (rec *recorder) artifact(name string) []byte {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.artifacts[name]
}

func (rec *recorder) addArtifacts(arts map[string][]byte) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.artifacts == nil {
		rec.artifacts = map[string][]byte{}
	}
	maps.Copy(rec.artifacts, arts)
}

func (rec *recorder) builtImage() *stages.BuiltImage {
	rec.buildMu.Lock()
	defer rec.buildMu.Unlock()
	return rec.built
}

// signImage signs the built image and attests its CycloneDX SBOM and the
// SLSA provenance (stages.SignPlans), once, when the run was asked to sign
// and the image stage ran: the SBOM is that stage's. Every stage but
// production must have finished.
func (rec *recorder) signImage(ctx context.Context, cfg Config) error {
	rec.signing.once.Do(func() { rec.signing.err = rec.sign(ctx, cfg) })
	return rec.signing.err
}

func (rec *recorder) sign(ctx context.Context, cfg Config) error {
	img := rec.builtImage()
	verdicts := rec.verdicts()
	delete(verdicts, stages.Production)
	if st, ran := verdicts[stages.Image]; !cfg.Delivery.Sign || img == nil || !ran || st == policies.StatusSkipped {
		return nil // nothing was asked, or nothing to sign: the image stage says why
	}
	sbom := rec.artifact(stages.SBOMImageCycloneDX)
	if sbom == nil {
		return fmt.Errorf("signing the image: its SBOM (%s) is missing, so it cannot be attested: the image stage's syft did not run or failed", stages.SBOMImageCycloneDX)
	}
	prov, err := attest.Provenance(rec.build(ctx, cfg, img, verdicts))
	if err != nil {
		return fmt.Errorf("signing the image: %w", err)
	}
	sp := cfg.Policy.Stage(stages.Image)
	opts := stages.Options{Timeout: sp.ToolTimeouts()["cosign"]}
	for _, p := range stages.SignPlans(opts, sbom, prov) {
		release, err := cfg.slots.acquire(ctx, p.ToolName(), p.Step.Memory())
		if err != nil {
			return fmt.Errorf("signing the image: cancelled: %w", err)
		}
		tr, _, arts, err := runToolReporting(ctx, cfg, stages.Image, opts, p)
		release()
		rec.signing.tools = append(rec.signing.tools, tr)
		if err != nil {
			return fmt.Errorf("signing the image (%s): %w", p.Target, err)
		}
		rec.addArtifacts(arts)
	}
	return nil
}

// build is what the provenance says about the image and the run.
func (rec *recorder) build(ctx context.Context, cfg Config, img *stages.BuiltImage, verdicts map[string]policies.Status) attest.Build {
	d := cfg.Delivery
	b := attest.Build{
		Source: cfg.Source, Commit: d.Commit, Branch: d.Branch,
		Dockerfile: img.Dockerfile, Target: d.Build.Target, Platform: d.Build.Platform, Image: img.Ref,
		Dagsec: Version, Runner: cfg.Runner.Kind(), Policy: cfg.Policy.Name,
		Stages: map[string]string{}, Started: rec.now, Finished: time.Now(),
	}
	for _, a := range d.Build.Args {
		b.BuildArgs = append(b.BuildArgs, a.Name+"="+a.Value)
	}
	if img.Dockerfile != "" {
		if data, err := cfg.Runner.ReadFile(ctx, img.Dockerfile); err == nil {
			sum := sha256.Sum256(data)
			b.DockerfileSHA256 = hex.EncodeToString(sum[:])
		}
	}
	var srs []StageReport
	for _, name := range slices.Sorted(maps.Keys(verdicts)) {
		b.Stages[name] = string(verdicts[name])
		srs = append(srs, StageReport{Name: name, Status: verdicts[name]})
	}
	b.Verdict = string(overall(srs))
	return b
}

// finishSigning signs when production did not (it did not run), and puts
// the signing's cosign runs under the image stage; a signing that failed
// makes that stage an error: an image asked to be signed is never left
// unsigned by a run that passes.
func (rec *recorder) finishSigning(ctx context.Context, cfg Config, results map[string]NodeResult) {
	err := rec.signImage(ctx, cfg)
	sr := rec.stages[stages.Image]
	if sr == nil {
		return
	}
	sr.Tools = append(sr.Tools, rec.signing.tools...)
	if err != nil {
		sr.Errors = append(sr.Errors, err.Error())
		r := results[stages.Image]
		r.Status, r.Reason = policies.StatusError, err.Error()
		results[stages.Image] = r
	}
}

// verifyImage checks, before production deploys, the image's signature and
// both attestations against Delivery.CosignPublicKey with cosign, and the
// pipeline's verdict the provenance records. It returns nil when all hold,
// else production's verdict naming the check that failed: blocked when
// one does not verify, error when cosign could not run.
func (rec *recorder) verifyImage(ctx context.Context, cfg Config, sr *StageReport) *NodeResult {
	blocked := func(why string) *NodeResult {
		return &NodeResult{Status: policies.StatusBlocked, Reason: "not deployed: " + why}
	}
	files := maps.Clone(cfg.Delivery.Signed)
	if files == nil {
		files = map[string][]byte{}
	}
	for _, f := range attest.Files() {
		if data := rec.artifact(f); data != nil {
			files[f] = data // this run's own signing
		}
	}
	for _, c := range attest.Checks {
		if files[c.File] == nil {
			return blocked(fmt.Sprintf("the image has no %s (%s) to verify against the cosign public key: sign it with --sign, or give the report folder of the run that signed it", c.Name, c.File))
		}
	}
	sp := cfg.Policy.Stage(stages.Production)
	for _, p := range stages.VerifyPlans(stages.Options{}, cfg.Delivery.CosignPublicKey, files) {
		e := Event{Kind: ToolStarted, Stage: stages.Production, Tool: p.Step.Tool, Target: p.Target}
		cfg.emit(e)
		res, err := cfg.Runner.Run(ctx, p.Step)
		e.Kind, e.Duration = ToolFinished, res.Duration
		switch {
		case err != nil:
			e.Error = err.Error()
		case res.ExitCode != 0:
			e.Error = "does not verify"
		}
		cfg.emit(e)
		tr := ToolReport{Name: p.Step.Tool, Version: p.Step.Version, Runner: cfg.Runner.Kind(), Target: p.Target,
			Image: res.Image, LockedImage: cfg.lockedImage(p.Step.Tool), ExitCode: res.ExitCode,
			DurationMS: res.Duration.Milliseconds(), Network: res.Network}
		if res.ToolVersion != "" {
			tr.Version = res.ToolVersion
		}
		if err != nil {
			te := &policies.ToolError{Tool: "cosign", Target: p.Target, Err: err}
			tr.Error = te.Error()
			sr.Tools = append(sr.Tools, tr)
			sr.Errors = append(sr.Errors, tr.Error)
			v := policies.Evaluate(stages.Production, sp, nil, []error{te})
			return &NodeResult{Status: v.Status, Reason: "not deployed: verifying the " + p.Target + ": " + v.Reason}
		}
		if res.ExitCode != 0 {
			tr.Error = fmt.Sprintf("does not verify (cosign exit code %d): %s", res.ExitCode, cosignError(res.Stderr))
			sr.Tools = append(sr.Tools, tr)
			return blocked(fmt.Sprintf("the image's %s (%s) does not verify against the cosign public key: %s", p.Target, fileOf(p.Target), cosignError(res.Stderr)))
		}
		sr.Tools = append(sr.Tools, tr)
	}
	// Verified: the provenance is the signer's, and says how the pipeline
	// judged the image.
	st, err := attest.ReadStatement(files[attest.ProvenanceAttestation])
	if err == nil {
		var v attest.Verdict
		if v, err = attest.ProvenanceVerdict(st); err == nil {
			if v.Verdict != string(policies.StatusPassed) && v.Verdict != string(policies.StatusWarned) {
				return blocked(fmt.Sprintf("the provenance attestation records the pipeline's verdict %q (%s), not passed", v.Verdict, describeVerdicts(v.Stages)))
			}
			return nil
		}
	}
	return blocked(fmt.Sprintf("the provenance attestation (%s) verifies but cannot be read: %v", attest.ProvenanceAttestation, err))
}

// fileOf is the file of a check, by its name.
func fileOf(check string) string {
	for _, c := range attest.Checks {
		if c.Name == check {
			return c.File
		}
	}
	return ""
}

// cosignError is cosign's own error line, without its warnings.
func cosignError(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "WARNING") && !strings.HasPrefix(l, "error during command execution") {
			keep = append(keep, strings.TrimPrefix(l, "Error: "))
		}
	}
	if len(keep) == 0 {
		return "no message"
	}
	return strings.Join(keep, "; ")
}

// describeVerdicts names the stages that did not pass.
func describeVerdicts(stages map[string]string) string {
	var out []string
	for _, n := range slices.Sorted(maps.Keys(stages)) {
		if s := stages[n]; s != string(policies.StatusPassed) && s != string(policies.StatusWarned) {
			out = append(out, n+" "+s)
		}
	}
	if len(out) == 0 {
		return "no stage named"
	}
	return strings.Join(out, ", ")
}
