package stages

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// planDAST scans Options.Target, the running staging app, with ZAP's
// baseline scan (plus its API scan when Options.OpenAPI names a definition)
// and with wapiti. Both tools write into the output folder and read nothing
// of the source but the OpenAPI file, so their working folder is OutputDir:
// ZAP's API scan writes zap.out into its working folder, and the source is
// read-only in the Dagger runner.
func planDAST(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	target, err := dastTarget(opts.Target)
	if err != nil {
		return nil, err
	}
	spec := ""
	if opts.OpenAPI != "" {
		if spec, err = sourceFile(ctx, probe, "dast: openapi file", opts.OpenAPI); err != nil {
			return nil, err
		}
	}
	c := newChooser(DAST, opts, probe)
	var plans []Plan
	for _, tool := range c.tools {
		if why := c.available(ctx, tool); why != "" {
			plans = append(plans, unavailable(DAST, tool, why))
			continue
		}
		switch tool {
		case "zap":
			st := dastStep(tool, "", opts, 20*time.Minute)
			st.Argv = ZAPBaselineArgv(target.String(), ZAPBaselineReport)
			st.Report = ZAPBaselineReport
			st.OKCodes, st.FindingCodes = ZAPOKCodes, ZAPFindingCodes
			plans = append(plans, Plan{Stage: DAST, Tool: tool, Step: st, Parse: ParseZAP})
			if spec == "" {
				continue
			}
			// The API scan is an active scan of every operation: slower.
			api := dastStep(tool, "api", opts, 60*time.Minute)
			api.Argv = ZAPAPIScanArgv(SourceDir+"/"+spec, target.Host, ZAPAPIReport)
			api.Report = ZAPAPIReport
			api.OKCodes, api.FindingCodes = ZAPOKCodes, ZAPFindingCodes
			plans = append(plans, Plan{Stage: DAST, Tool: tool, Step: api, Parse: ParseZAP})
		case "wapiti":
			st := dastStep(tool, "", opts, 30*time.Minute)
			st.Argv = WapitiArgv(target.String(), OutputDir)
			st.Env = wapitiEnv()
			st.Report = WapitiReportFile
			st.OKCodes, st.FindingCodes = WapitiOKCodes, WapitiFindingCodes
			plans = append(plans, Plan{Stage: DAST, Tool: tool, Step: st, Parse: ParseWapiti})
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", DAST, tool)
		}
	}
	return plans, nil
}

// dastStep is toolStep for a scan of the target: "dast/zap", or
// "dast/zap:api" for a second run of one tool.
func dastStep(tool, variant string, opts Options, def time.Duration) Step {
	st := toolStep(DAST, tool, ".", opts, def)
	if variant != "" {
		st.Name += ":" + variant
	}
	st.Workdir = OutputDir
	st.NeedsTarget = true
	return st
}

// dastTarget accepts an absolute http(s) URL with a host. Credentials in
// the URL are refused: they would end up in argv, logs and reports.
func dastTarget(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("dast: no target URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the URL, password included; its cause does not.
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		return nil, fmt.Errorf("dast: target URL does not parse: %w", err)
	}
	switch {
	case u.User != nil:
		return nil, errors.New("dast: target URL must not carry credentials")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("dast: target URL %q must be http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("dast: target URL %q has no host", s)
	}
	return u, nil
}

// dastFinding fills what every DAST finding shares and checks it.
func dastFinding(tool string, f findings.Finding) (findings.Finding, error) {
	f.Stage, f.Tool = DAST, tool
	f.Tags = append([]string{"dast"}, f.Tags...)
	return f, f.Validate()
}
