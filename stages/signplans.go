package stages

import (
	"time"

	"github.com/dagsec/dagsec/attest"
)

// ImageSignature is the cosign signature of the image tarball (base64, as
// cosign sign-blob writes it).
const ImageSignature = attest.Signature

// Where cosign steps find their keys and inputs, under InputDir.
const (
	CosignKeyInput       = "cosign.key"
	CosignPublicKeyInput = "cosign.pub"
	// ProvenanceInput is the SLSA provenance predicate to attest.
	ProvenanceInput = "provenance.json"
)

// CosignSignArgv signs the image tarball with the key at
// InputDir/CosignKeyInput and writes the base64 signature to sig. No
// transparency log upload: nothing leaves the runner, and the signature
// verifies with `cosign verify-blob --key cosign.pub --signature image.sig
// --insecure-ignore-tlog image.tar`.
func CosignSignArgv(sig string) []string {
	return []string{"cosign", "sign-blob",
		"--key", InputDir + "/" + CosignKeyInput,
		"--tlog-upload=false",
		"--yes",
		"--output-signature", sig,
		ImageTar,
	}
}

// CosignAttestArgv makes an in-toto statement of predicate type typ
// (attest.TypeCycloneDX, attest.TypeProvenance) about the image tarball,
// with the predicate file as its predicate, signs it with the key, and
// writes the DSSE envelope to out. No transparency log upload; it verifies
// with `cosign verify-blob-attestation --key cosign.pub --signature OUT
// --type TYPE --insecure-ignore-tlog image.tar`.
func CosignAttestArgv(typ, predicate, out string) []string {
	return []string{"cosign", "attest-blob",
		"--key", InputDir + "/" + CosignKeyInput,
		"--type", typ,
		"--predicate", predicate,
		"--tlog-upload=false",
		"--yes",
		"--output-signature", out,
		ImageTar,
	}
}

// CosignVerifyArgv checks one of attest.Checks against the public key at
// InputDir/CosignPublicKeyInput, the file under InputDir: the signature
// (verify-blob), or an attestation (verify-blob-attestation: its
// signature, its predicate type, and that its subject is the tarball).
func CosignVerifyArgv(c attest.Check) []string {
	key := InputDir + "/" + CosignPublicKeyInput
	if c.Type == "" {
		return []string{"cosign", "verify-blob", "--key", key, "--signature", InputDir + "/" + c.File, "--insecure-ignore-tlog", ImageTar}
	}
	return []string{"cosign", "verify-blob-attestation", "--key", key, "--signature", InputDir + "/" + c.File,
		"--type", c.Type, "--insecure-ignore-tlog", ImageTar}
}

// cosignStep is a cosign run on the image tarball; target names what it
// signs or checks in reports.
func cosignStep(name string, opts Options) Step {
	st := imageStep("cosign", opts, 10*time.Minute)
	st.Name = "image/cosign-" + name
	st.OKCodes = []int{0}
	return st
}

// SignPlans sign the image tarball and attest its CycloneDX SBOM and the
// SLSA provenance with the caller's key (the secrets CosignKeySecret and
// CosignPasswordSecret); each writes its file (attest.Files) as an
// artifact. A runner without cosign or the key fails them: an image asked
// to be signed is never left unsigned silently.
func SignPlans(opts Options, sbom, provenance []byte) []Plan {
	secret := func(st Step) Step {
		st.SecretFiles = map[string]string{CosignKeyInput: CosignKeySecret}
		st.SecretEnv = map[string]string{"COSIGN_PASSWORD": CosignPasswordSecret}
		return st
	}
	sign := secret(cosignStep("sign", opts))
	sign.Argv = CosignSignArgv(OutputDir + "/" + attest.Signature)
	sign.Artifacts = []string{attest.Signature}

	sb := secret(cosignStep("attest-sbom", opts))
	sb.Inputs = map[string][]byte{SBOMImageCycloneDX: sbom}
	sb.Argv = CosignAttestArgv(attest.TypeCycloneDX, InputDir+"/"+SBOMImageCycloneDX, OutputDir+"/"+attest.SBOMAttestation)
	sb.Artifacts = []string{attest.SBOMAttestation}

	pv := secret(cosignStep("attest-provenance", opts))
	pv.Inputs = map[string][]byte{ProvenanceInput: provenance}
	pv.Argv = CosignAttestArgv(attest.TypeProvenance, InputDir+"/"+ProvenanceInput, OutputDir+"/"+attest.ProvenanceAttestation)
	pv.Artifacts = []string{attest.ProvenanceAttestation}

	return []Plan{
		{Stage: Image, Step: sign, Target: attest.Checks[0].Name},
		{Stage: Image, Step: sb, Target: attest.Checks[1].Name},
		{Stage: Image, Step: pv, Target: attest.Checks[2].Name},
	}
}

// VerifyPlans check the signature and both attestations (files, by name)
// against the public key, one plan per attest.Checks entry, in order. A
// check passes when cosign exits 0; they need no secret.
func VerifyPlans(opts Options, publicKey []byte, files map[string][]byte) []Plan {
	var out []Plan
	for _, c := range attest.Checks {
		st := cosignStep("verify-"+c.File, opts)
		st.Name = Production + "/cosign-verify-" + c.File
		st.Inputs = map[string][]byte{CosignPublicKeyInput: publicKey, c.File: files[c.File]}
		st.Argv = CosignVerifyArgv(c)
		out = append(out, Plan{Stage: Production, Step: st, Target: c.Name})
	}
	return out
}
