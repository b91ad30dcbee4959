package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// deliveryFlags are scan's settings for the stages after the code stages.
// The host runner cannot build or serve images: it checks a saved image
// and scans a running staging.
type deliveryFlags struct {
	imageTar, target, openapi, branch string
	stagingCmd, stagingURL, prodCmd   string
	deployEnv                         listFlag
	signing                           signFlags
}

func (d *deliveryFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.imageTar, "image-tar", "", "build, image: a saved image tarball `FILE` (docker save, or the module's exported image) to check and scan")
	fs.StringVar(&d.target, "target", "", "staging, dast: `URL` of a running staging to scan")
	fs.StringVar(&d.openapi, "openapi", "", "OpenAPI `FILE` in the source: the api stage audits it instead of the definitions it finds; dast adds ZAP's API scan of it")
	fs.StringVar(&d.branch, "branch", "", "production: the branch `NAME` being built (default: from GitHub Actions or GitLab CI variables, else the source's .git/HEAD)")
	fs.StringVar(&d.stagingCmd, "deploy-staging-cmd", "", "staging: shell command `CMD` that deploys to staging; its last output line is the URL unless --deploy-staging-url is given")
	fs.StringVar(&d.stagingURL, "deploy-staging-url", "", "staging: `URL` of the staging --deploy-staging-cmd deploys")
	fs.StringVar(&d.prodCmd, "deploy-prod-cmd", "", "production: shell command `CMD` that deploys, run only when every gate passed on the production branch")
	fs.Var(&d.deployEnv, "deploy-env", "pass environment variable `NAME` to the deploy commands as a secret (redacted from output); repeatable")
	d.signing.register(fs)
}

// needsTarget refuses a dast stage with nothing to scan: the host serves
// no image, so DAST needs a running staging's URL or a deploy step.
func (d *deliveryFlags) needsTarget(selected []string, pol *policies.Policy) error {
	if !slices.Contains(selected, stages.DAST) || !pol.Stage(stages.DAST).Enabled || d.target != "" || d.stagingCmd != "" {
		return nil
	}
	return usageError{"the dast stage needs a running staging to scan: pass --target URL (or --deploy-staging-cmd CMD, which deploys one and prints its URL)", "scan"}
}

// apply gives the runner the image and secrets and returns the delivery
// configuration.
func (d *deliveryFlags) apply(r *host.Runner) (pipeline.Delivery, error) {
	out := pipeline.Delivery{Target: d.target, OpenAPI: d.openapi, Branch: d.branch}
	if d.imageTar != "" {
		abs, err := filepath.Abs(d.imageTar)
		if err != nil {
			return out, err
		}
		if st, err := os.Stat(abs); err != nil || !st.Mode().IsRegular() {
			return out, fmt.Errorf("--image-tar %s: not a readable file", d.imageTar)
		}
		r.ImageTar = abs
	}
	if out.Branch == "" {
		out.Branch = pipeline.DetectBranch(os.Getenv)
	}
	if out.Branch == "" {
		if head, err := os.ReadFile(filepath.Join(r.Source(), ".git", "HEAD")); err == nil {
			out.Branch = pipeline.BranchFromHead(head)
		}
	}
	if out.Commit = pipeline.DetectCommit(os.Getenv); out.Commit == "" {
		out.Commit = pipeline.CommitFromGit(func(rel string) ([]byte, error) {
			return os.ReadFile(filepath.Join(r.Source(), filepath.FromSlash(rel)))
		})
	}
	secrets := map[string]string{}
	r.Secrets = map[string]string{}
	for _, name := range d.deployEnv {
		v, ok := os.LookupEnv(name)
		if !ok {
			return out, fmt.Errorf("--deploy-env %s: the variable is not set", name)
		}
		r.Secrets[name], secrets[name] = v, name
	}
	step := func(cmd, url string) *pipeline.DeployStep {
		if cmd == "" {
			return nil
		}
		return &pipeline.DeployStep{Command: []string{"sh", "-c", cmd}, SecretEnv: secrets, URL: url}
	}
	if err := d.signing.apply(r, &out); err != nil {
		return out, err
	}
	out.Staging.Deploy = step(d.stagingCmd, d.stagingURL)
	out.Production.Deploy = step(d.prodCmd, "")
	if d.stagingURL != "" && d.stagingCmd == "" {
		return out, fmt.Errorf("--deploy-staging-url needs --deploy-staging-cmd; for a staging already running, use --target")
	}
	return out, nil
}

// listFiles is a repeatable file flag.
type listFiles []string

func (l *listFiles) String() string { return strings.Join(*l, ",") }

func (l *listFiles) Set(v string) error {
	if v == "" {
		return fmt.Errorf("want a file")
	}
	*l = append(*l, v)
	return nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" || strings.ContainsAny(v, "= ") {
		return fmt.Errorf("want an environment variable name, got %q", v)
	}
	*l = append(*l, v)
	return nil
}
