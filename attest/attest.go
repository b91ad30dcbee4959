// Package attest writes the SLSA v1 build provenance dagsec attests for a
// built image (with cosign, as an in-toto statement about the image
// tarball) and reads a verified attestation's statement back. It knows
// the formats only; stages has cosign's argv, pipeline runs them.
package attest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"time"
)

// MaxKeySize bounds a cosign key file; real ones are a few hundred bytes.
const MaxKeySize = 64 << 10

// MaxSignedSize bounds a signature or attestation read from a report
// folder: the SBOM attestation carries the image's SBOM.
const MaxSignedSize = 64 << 20

// CheckPublicKey checks that data is a PEM public key, as cosign writes one.
func CheckPublicKey(data []byte) error {
	if b, _ := pem.Decode(data); b == nil || b.Type != "PUBLIC KEY" {
		return errors.New("not a PEM public key (cosign generate-key-pair writes cosign.pub)")
	}
	return nil
}

// Files the signing writes next to the report, and the checks production
// makes of them.
const (
	// Signature is cosign sign-blob's signature of the image tarball.
	Signature = "image.sig"
	// SBOMAttestation is the DSSE envelope of the in-toto statement whose
	// predicate is the image's CycloneDX SBOM.
	SBOMAttestation = "image-sbom.att.json"
	// ProvenanceAttestation is the DSSE envelope of the SLSA v1 provenance.
	ProvenanceAttestation = "image-provenance.att.json"
)

// Predicate types as cosign names them (--type) and as the statements
// carry them.
const (
	TypeCycloneDX  = "cyclonedx"
	TypeProvenance = "slsaprovenance1"

	PredicateCycloneDX  = "https://cyclonedx.org/bom"
	PredicateProvenance = "https://slsa.dev/provenance/v1"
)

// Check is one thing production verifies before it deploys.
type Check struct {
	Name string // "signature", "SBOM attestation", "provenance attestation"
	File string // the file holding it
	// Type is the attestation's cosign predicate type; "" for the signature.
	Type string
}

// Checks are what production verifies, in order.
var Checks = []Check{
	{Name: "signature", File: Signature},
	{Name: "SBOM attestation", File: SBOMAttestation, Type: TypeCycloneDX},
	{Name: "provenance attestation", File: ProvenanceAttestation, Type: TypeProvenance},
}

// Files are the file names of Checks.
func Files() []string {
	out := make([]string, len(Checks))
	for i, c := range Checks {
		out[i] = c.File
	}
	return out
}

// BuildType names how dagsec builds: a Dockerfile, by the Dagger engine or
// (on the host) a saved tarball of one.
const BuildType = "https://github.com/dagsec/dagsec/buildtypes/dockerfile/v1"

// BuilderID names dagsec as the builder.
const BuilderID = "https://github.com/dagsec/dagsec"

// Build is what the provenance records.
type Build struct {
	// Source is how the run names the source (a path, a directory digest),
	// Commit its git commit ("" when unknown).
	Source, Commit, Branch string
	// Dockerfile, its SHA-256 (hex), Target, Platform and BuildArgs
	// (NAME=VALUE, in order) describe the build.
	Dockerfile, DockerfileSHA256 string
	Target, Platform             string
	BuildArgs                    []string
	// Image names the built image in reports.
	Image string
	// Dagsec is dagsec's version; Runner "host" or "dagger"; Policy the
	// policy's name.
	Dagsec, Runner, Policy string
	// Verdict is the pipeline's status when the image was attested, and
	// Stages each stage's, by name.
	Verdict string
	Stages  map[string]string
	// Started is the run's start, Finished when it was attested.
	Started, Finished time.Time
}

// Provenance is the SLSA v1 provenance predicate (cosign attest-blob
// --type slsaprovenance1 --predicate FILE). Fields SLSA leaves open hold
// dagsec's own: externalParameters the build's inputs, internalParameters
// the pipeline's verdict.
func Provenance(b Build) ([]byte, error) {
	ext := map[string]any{
		"source":     map[string]string{"name": b.Source, "commit": b.Commit, "branch": b.Branch},
		"dockerfile": b.Dockerfile,
		"image":      b.Image,
	}
	if b.Target != "" {
		ext["target"] = b.Target
	}
	if b.Platform != "" {
		ext["platform"] = b.Platform
	}
	if len(b.BuildArgs) > 0 {
		ext["buildArgs"] = b.BuildArgs
	}
	var deps []map[string]any
	if b.Commit != "" {
		deps = append(deps, map[string]any{"uri": "git+" + b.Source, "digest": map[string]string{"gitCommit": b.Commit}})
	}
	if b.DockerfileSHA256 != "" {
		deps = append(deps, map[string]any{"name": b.Dockerfile, "digest": map[string]string{"sha256": b.DockerfileSHA256}})
	}
	stages := map[string]string{}
	maps.Copy(stages, b.Stages)
	started, finished := b.Started.UTC(), b.Finished.UTC()
	pred := map[string]any{
		"buildDefinition": map[string]any{
			"buildType":          BuildType,
			"externalParameters": ext,
			"internalParameters": map[string]any{"dagsec": Verdict{
				Version: b.Dagsec, Runner: b.Runner, Policy: b.Policy, Verdict: b.Verdict, Stages: stages,
			}},
			"resolvedDependencies": deps,
		},
		"runDetails": map[string]any{
			"builder":  map[string]any{"id": BuilderID, "version": map[string]string{"dagsec": b.Dagsec}},
			"metadata": map[string]any{"startedOn": started, "finishedOn": finished},
		},
	}
	out, err := json.MarshalIndent(pred, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return out, nil
}

// Verdict is what the provenance records of the pipeline
// (internalParameters.dagsec).
type Verdict struct {
	Version string            `json:"version"`
	Runner  string            `json:"runner"`
	Policy  string            `json:"policy,omitempty"`
	Verdict string            `json:"verdict"`
	Stages  map[string]string `json:"stages"`
}

// Statement is an in-toto statement, as much as production reads.
type Statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

// envelope is a DSSE envelope, as cosign attest-blob writes it.
type envelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
}

// ReadStatement decodes the in-toto statement an attestation envelope
// carries. It does not verify anything: call it on an envelope cosign has
// verified.
func ReadStatement(env []byte) (*Statement, error) {
	var e envelope
	if err := json.Unmarshal(env, &e); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	if e.PayloadType != "application/vnd.in-toto+json" {
		return nil, fmt.Errorf("payload type %q is not an in-toto statement", e.PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return &st, nil
}

// ProvenanceVerdict reads the pipeline's verdict out of a provenance
// statement.
func ProvenanceVerdict(st *Statement) (Verdict, error) {
	if st.PredicateType != PredicateProvenance {
		return Verdict{}, fmt.Errorf("predicate type %q is not SLSA provenance v1", st.PredicateType)
	}
	var p struct {
		BuildDefinition struct {
			BuildType          string `json:"buildType"`
			InternalParameters struct {
				Dagsec *Verdict `json:"dagsec"`
			} `json:"internalParameters"`
		} `json:"buildDefinition"`
	}
	if err := json.Unmarshal(st.Predicate, &p); err != nil {
		return Verdict{}, fmt.Errorf("provenance: %w", err)
	}
	if p.BuildDefinition.BuildType != BuildType || p.BuildDefinition.InternalParameters.Dagsec == nil {
		return Verdict{}, fmt.Errorf("the provenance is not dagsec's (build type %q)", p.BuildDefinition.BuildType)
	}
	return *p.BuildDefinition.InternalParameters.Dagsec, nil
}
