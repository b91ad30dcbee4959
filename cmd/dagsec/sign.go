package main

import (
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dagsec/dagsec/attest"
	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// signFlags are scan's signing and verification settings for the host:
// the key travels only as a runner secret, its password only through
// COSIGN_PASSWORD.
type signFlags struct {
	sign           bool
	key, publicKey string
	reports        listFiles
}

func (s *signFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.sign, "sign", false, "image: sign the image tarball and attest its CycloneDX SBOM and a SLSA provenance with cosign once every other stage has judged it (needs --cosign-key; the key's password from $COSIGN_PASSWORD)")
	fs.StringVar(&s.key, "cosign-key", "", "image: cosign private key `FILE` for --sign")
	fs.StringVar(&s.publicKey, "cosign-public-key", "", "production: cosign public key `FILE`; production deploys only an image whose signature and attestations verify against it and whose provenance records a passing pipeline")
	fs.Var(&s.reports, "reports", "production: an earlier run's report `DIR` (or its report.json): its stages' verdicts count as gates, and its image.sig and attestations are verified (repeatable)")
}

// apply hands the key to the runner as secrets and reads the public key
// and the earlier runs' reports into the delivery configuration.
func (s *signFlags) apply(r *host.Runner, out *pipeline.Delivery) error {
	switch {
	case s.sign && s.key == "":
		return usageError{"--sign needs --cosign-key FILE", "scan"}
	case s.key != "" && !s.sign:
		return usageError{"--cosign-key is for --sign", "scan"}
	case s.sign && r.ImageTar == "":
		return usageError{"--sign on the host signs a saved image: give it with --image-tar", "scan"}
	}
	if s.sign {
		key, err := readfile.Read(s.key, attest.MaxKeySize)
		if err != nil {
			return fmt.Errorf("--cosign-key: %w", err)
		}
		if b, _ := pem.Decode(key); b == nil {
			return fmt.Errorf("--cosign-key %s: not a PEM private key (cosign generate-key-pair writes cosign.key)", s.key)
		}
		r.Secrets[stages.CosignKeySecret] = string(key)
		r.Secrets[stages.CosignPasswordSecret] = os.Getenv("COSIGN_PASSWORD")
		out.Sign = true
	}
	if s.publicKey != "" {
		pub, err := readfile.Read(s.publicKey, attest.MaxKeySize)
		if err != nil {
			return fmt.Errorf("--cosign-public-key: %w", err)
		}
		if err := attest.CheckPublicKey(pub); err != nil {
			return fmt.Errorf("--cosign-public-key %s: %w", s.publicKey, err)
		}
		out.CosignPublicKey = pub
	}
	if len(s.reports) == 0 {
		return nil
	}
	var names []string
	var reps []*pipeline.Report
	for _, p := range s.reports {
		file, err := reportFile("--reports", p)
		if err != nil {
			return err
		}
		rep, err := pipeline.ReadReportFile(file)
		if err != nil {
			return fmt.Errorf("--reports: %w", err)
		}
		names, reps = append(names, file), append(reps, rep)
		if err := readSigned(filepath.Dir(file), out); err != nil {
			return err
		}
	}
	earlier, err := pipeline.EarlierVerdicts(names, reps)
	if err != nil {
		return fmt.Errorf("--reports: %w", err)
	}
	out.Earlier = earlier
	return nil
}

// readSigned adds the signature and attestations a report folder holds to
// the delivery; two folders holding different ones is an error.
func readSigned(dir string, out *pipeline.Delivery) error {
	for _, name := range attest.Files() {
		p := filepath.Join(dir, name)
		data, err := readfile.Read(p, attest.MaxSignedSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("--reports: %w", err)
		}
		if out.Signed == nil {
			out.Signed = map[string][]byte{}
		}
		if prev, ok := out.Signed[name]; ok && string(prev) != string(data) {
			return fmt.Errorf("--reports: two report folders hold a different %s (the second at %s): give the one of the run that signed the image", name, p)
		}
		out.Signed[name] = data
	}
	return nil
}
