package stages

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// ImageEnvInput is the file, under InputDir, holding the built image's
// environment (NAME=value per line) for the build stage's gitleaks run.
const ImageEnvInput = "image-env.txt"

// planBuild checks the built image (Options.Image): dagsec's own checks of
// its config (user, base image age) in-process, and gitleaks over its
// environment variables, which anyone who can pull the image can read.
func planBuild(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	if opts.Image == nil {
		return nil, errors.New("stage build: no built image to check")
	}
	img := *opts.Image
	facts, err := ParseImageConfig(img.Config)
	if err != nil {
		return nil, fmt.Errorf("stage %s: image %s: %w", Build, img.Ref, err)
	}
	c := newChooser(Build, opts, probe)
	origins := img.Origins(ctx, probe)
	var plans []Plan
	for _, tool := range c.tools {
		switch tool {
		case HardeningTool:
			maxAge, now := opts.MaxBaseAge, opts.Now
			plans = append(plans, Plan{Stage: Build, Tool: tool, Inline: func(context.Context, Probe) ([]findings.Finding, error) {
				return CheckImageConfigAt(img, origins, maxAge, now)
			}})
		case "gitleaks":
			if len(facts.Env) == 0 {
				plans = append(plans, skip(Build, tool, "the image sets no environment variables"))
				continue
			}
			if why := c.available(ctx, tool); why != "" {
				plans = append(plans, unavailable(Build, tool, why))
				continue
			}
			p, err := imageEnvPlan(ctx, opts, probe, origins, facts.Env)
			if err != nil {
				return nil, err
			}
			plans = append(plans, p)
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", Build, tool)
		}
	}
	return plans, nil
}

// imageEnvPlan runs gitleaks, as the secrets stage does (same flags, same
// configuration: the source's .gitleaks.toml or dagsec's), over a file
// holding the image's environment.
func imageEnvPlan(ctx context.Context, opts Options, probe Probe, origins ImageOrigins, env []string) (Plan, error) {
	data, starts := imageEnvFile(env)
	st := toolStep(Build, "gitleaks", ".", opts, 5*time.Minute)
	// The file is scanned from the input folder, so gitleaks reports it
	// by its bare name and reads nothing of the source but its config.
	st.Workdir = InputDir
	st.Inputs = map[string][]byte{ImageEnvInput: data}
	cfg, err := secretsConfig(ctx, Options{}, probe)
	if err != nil {
		return Plan{}, fmt.Errorf("stage %s: %w", Build, err)
	}
	cfgPath := SourceDir + "/" + cfg
	if cfg == "" {
		st.Inputs["gitleaks.toml"] = GitleaksConfig()
		cfgPath = InputDir + "/gitleaks.toml"
	}
	st.Argv = []string{"gitleaks", "dir",
		"--no-banner", "--no-color", "--log-level", "warn",
		"--redact", // values never reach the report file, the logs or us
		"--report-format", "json", "--report-path", OutputDir + "/gitleaks.json",
		"--exit-code", strconv.Itoa(gitleaksFindingsCode),
		"--gitleaks-ignore-path", SourceDir,
		"--config", cfgPath,
		ImageEnvInput,
	}
	st.Report = "gitleaks.json"
	st.OKCodes, st.FindingCodes = []int{0}, []int{gitleaksFindingsCode}
	return Plan{Stage: Build, Tool: "gitleaks", Step: st,
		Parse: func(report []byte) ([]findings.Finding, error) {
			fs, err := ParseGitleaks(report)
			if err != nil {
				return nil, err
			}
			return imageEnvFindings(fs, origins, env, starts)
		}}, nil
}

// imageEnvFindings turns gitleaks' findings in the environment file into
// build findings at the ENV or ARG that set the variable (else the base
// image's FROM), naming the variable but never its value.
func imageEnvFindings(fs []findings.Finding, origins ImageOrigins, env []string, starts []int) ([]findings.Finding, error) {
	for i := range fs {
		f := &fs[i]
		if f.Location.Path != ImageEnvInput {
			return nil, fmt.Errorf("gitleaks reported %q, which it was not given", f.Location.Path)
		}
		name, ok := envAtLine(env, starts, f.Location.Line)
		if !ok {
			return nil, fmt.Errorf("gitleaks reported line %d of the image's environment, which has no such line", f.Location.Line)
		}
		f.Stage = Build
		f.Message = fmt.Sprintf("the image's environment variable %s holds a secret (gitleaks rule %s): anyone who can pull the image can read it; pass it at run time instead",
			name, f.RuleID)
		f.Location = origins.Env(name)
		f.Tags = append(f.Tags, "image-env")
		f.Identity = "env|" + name + "|" + f.Identity
	}
	findings.AssignFingerprints(fs)
	return fs, nil
}

// planImage scans the built image's tarball (ImageTar): trivy for
// vulnerabilities and secrets in its layers, grype for vulnerabilities,
// syft for its SBOM (SBOMImageCycloneDX). Signing (Options.Sign) is not
// planned here: the pipeline signs and attests once every other stage
// has judged the image (SignPlans), so the provenance holds their verdicts.
//
// Offline, trivy scans for secrets only and a note says vulnerabilities
// were not checked by it; grype, whose database cannot be had offline
// either, is left out with that reason. A policy that names either tool is
// obeyed: the tool runs and fails without its database.
func planImage(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	if opts.Image == nil {
		return nil, errors.New("stage image: no built image to scan")
	}
	c := newChooser(Image, opts, probe)
	origins := opts.Image.Origins(ctx, probe)
	var plans []Plan
	for _, tool := range c.tools {
		if tool == "cosign" {
			if !opts.Sign {
				plans = append(plans, skip(Image, tool, "signing was not asked for"))
			}
			continue // SignPlans signs, after every other stage
		}
		if why := c.available(ctx, tool); why != "" {
			plans = append(plans, unavailable(Image, tool, why))
			continue
		}
		switch tool {
		case "trivy":
			plans = append(plans, trivyImagePlans(opts, origins, opts.Offline && !c.explicit)...)
		case "grype":
			if opts.Offline && !c.explicit {
				plans = append(plans, skip(Image, tool, "grype's vulnerability database cannot be downloaded offline"))
				continue
			}
			plans = append(plans, grypePlan(opts, origins))
		case "syft":
			plans = append(plans, syftImagePlan(opts))
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", Image, tool)
		}
	}
	return plans, nil
}

// imageStep fills what every step of the image stage shares: it reads the
// tarball, and it runs in its output folder, so no configuration file of
// the source (trivy.yaml, .grype.yaml) applies to it.
func imageStep(tool string, opts Options, def time.Duration) Step {
	st := toolStep(Image, tool, ".", opts, def)
	st.Workdir = OutputDir
	st.NeedsImage = true
	return st
}

// trivyImagePlans scans the image for vulnerabilities and secrets, with
// its database in a cache refreshed by the step's DBUpdate; secretsOnly
// (offline) drops the vulnerability scan and says so in a second plan.
func trivyImagePlans(opts Options, origins ImageOrigins, secretsOnly bool) []Plan {
	st := imageStep("trivy", opts, 20*time.Minute)
	cache := CacheDir + "/trivy"
	st.Caches = []string{"trivy"}
	st.Report = "trivy.json"
	st.OKCodes, st.FindingCodes = TrivyOKCodes, TrivyFindingCodes
	parse := func(report []byte) ([]findings.Finding, error) {
		fs, _, err := ParseTrivyImageAt(report, origins)
		return fs, err
	}
	if secretsOnly {
		st.Argv = TrivyImageArgv(OutputDir+"/trivy.json", cache, []string{"secret"})
		st.NoNetwork = true // the scan reads the cached database; DBUpdate fetches it
		return []Plan{
			skip(Image, "trivy", "vulnerabilities not checked by trivy: its database cannot be downloaded offline; the image was scanned for secrets only"),
			{Stage: Image, Tool: "trivy", Step: st, Parse: parse,
				Database: func(_, _ []byte) string { return "none (offline: secret scan only)" }},
		}
	}
	st.Argv = TrivyImageArgv(OutputDir+"/trivy.json", cache, []string{"vuln", "secret"})
	st.NoNetwork = true // the scan reads the cached database; DBUpdate fetches it
	st.DBUpdate = trivyUpdateArgv(cache)
	st.DBInfo = []string{"trivy", "version", "--cache-dir", cache, "--format", "json"}
	st.DBRefresh = opts.dbRefresh()
	return []Plan{{Stage: Image, Tool: "trivy", Step: st, Parse: parse, Database: TrivyDatabase}}
}

// GrypeConfigInput is the name, under InputDir, of the configuration grype
// reads (through GRYPE_CONFIG) instead of any .grype.yaml.
const GrypeConfigInput = "grype.yaml"

// grypeConfig repeats GrypeEnv; it is the one configuration file grype
// reads, so no .grype.yaml in a working or home folder changes the scan.
const grypeConfig = `# dagsec: grype reads only its database cache and the image tarball.
check-for-app-update: false
db:
  auto-update: false
`

// grypeFindingsCode is grype's exit code for "a match at or above the
// --fail-on severity" (v0.121.2: grypeerr.ErrAboveSeverityThreshold); its
// own failures exit 1. The report is written before it exits 2.
const grypeFindingsCode = 2

// Grype v0.121.2 exit codes under GrypeArgv.
var (
	GrypeOKCodes      = []int{0}
	GrypeFindingCodes = []int{grypeFindingsCode}
)

// GrypeArgv scans the image tarball (docker-archive layout) and writes JSON
// to report. --fail-on negligible makes any match with a known severity
// exit grypeFindingsCode; a report of matches of unknown severity alone
// exits 0 and is still read.
func GrypeArgv(report string) []string {
	return []string{"grype", "docker-archive:" + ImageTar,
		"-o", "json", "--file", report,
		"--fail-on", "negligible",
		"--quiet",
	}
}

// GrypeEnv keeps grype's database in cacheDir, updated only by the step's
// DBUpdate (`grype db update`), never during a scan, and stops its update
// check. The database's own age check stays on: a database older than
// grype allows (5 days) fails the scan instead of passing it.
func GrypeEnv(cacheDir string) map[string]string {
	return map[string]string{
		"GRYPE_CONFIG":               InputDir + "/" + GrypeConfigInput,
		"GRYPE_DB_CACHE_DIR":         cacheDir,
		"GRYPE_DB_AUTO_UPDATE":       "false",
		"GRYPE_CHECK_FOR_APP_UPDATE": "false",
	}
}

func grypePlan(opts Options, origins ImageOrigins) Plan {
	st := imageStep("grype", opts, 20*time.Minute)
	cache := CacheDir + "/grype"
	st.Caches = []string{"grype"}
	st.Env = GrypeEnv(cache)
	st.Inputs = map[string][]byte{GrypeConfigInput: []byte(grypeConfig)}
	st.Argv = GrypeArgv(OutputDir + "/grype.json")
	st.NoNetwork = true // the scan reads the cached database; DBUpdate fetches it
	st.DBUpdate = []string{"grype", "db", "update"}
	st.DBInfo = []string{"grype", "db", "status", "-o", "json"}
	st.DBRefresh = opts.dbRefresh()
	st.Report = "grype.json"
	st.OKCodes, st.FindingCodes = GrypeOKCodes, GrypeFindingCodes
	parse := func(report []byte) ([]findings.Finding, error) { return ParseGrypeAt(report, origins) }
	return Plan{Stage: Image, Tool: "grype", Step: st, Parse: parse, Database: GrypeDatabase}
}

// SyftImageArgv writes the CycloneDX SBOM of the image tarball to cdx,
// with the configuration of SyftInputs (see SyftArgv).
func SyftImageArgv(cdx string) []string {
	return []string{"syft", "scan", "docker-archive:" + ImageTar,
		"--config", InputDir + "/" + SyftConfigInput,
		"--quiet",
		"--output", "cyclonedx-json=" + cdx,
	}
}

func syftImagePlan(opts Options) Plan {
	st := imageStep("syft", opts, 15*time.Minute)
	st.Argv = SyftImageArgv(OutputDir + "/" + SBOMImageCycloneDX)
	st.Env = SyftEnv()
	st.Inputs = SyftInputs()
	st.Report = SBOMImageCycloneDX
	st.Artifacts = []string{SBOMImageCycloneDX}
	st.OKCodes = SyftOKCodes
	return Plan{Stage: Image, Tool: "syft", Step: st, Parse: ParseImageSBOM}
}

// ParseImageSBOM checks that the image's SBOM is a complete CycloneDX JSON
// document. The SBOM is an artifact of the run; it gives no findings (the
// image's vulnerabilities come from trivy and grype).
func ParseImageSBOM(report []byte) ([]findings.Finding, error) {
	if _, err := decodeCycloneDX(report); err != nil {
		return nil, err
	}
	return []findings.Finding{}, nil
}
