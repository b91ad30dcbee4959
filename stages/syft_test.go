package stages_test

import (
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

var updateSyftSamples = flag.Bool("update-syft-samples", false, "rewrite testdata/syft-v1.57.1-* from real syft runs over the planted trees")

// syftNpmTree is a web app with an npm lockfile (lockfileVersion 3) whose
// entries carry the license field npm copies from each package.json: one
// GPL dependency (written with the deprecated id "GPL-3.0"), one MIT, one
// dual-licensed, one with a non-SPDX license and one with none.
func syftNpmTree() map[string]string {
	return map[string]string{
		"package.json": `{
  "name": "web",
  "version": "1.0.0",
  "license": "MIT",
  "dependencies": {
    "@corp/internal-sdk": "^3.0.1",
    "copyleft-widget": "^2.1.0",
    "dual-lib": "^1.4.0",
    "is-number": "^7.0.0",
    "unlabelled-util": "^0.3.0"
  }
}
`,
		"package-lock.json": `{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "web",
      "version": "1.0.0",
      "license": "MIT",
      "dependencies": {
        "@corp/internal-sdk": "^3.0.1",
        "copyleft-widget": "^2.1.0",
        "dual-lib": "^1.4.0",
        "is-number": "^7.0.0",
        "unlabelled-util": "^0.3.0"
      }
    },
    "node_modules/@corp/internal-sdk": {
      "version": "3.0.1",
      "resolved": "https://npm.corp.example/@corp/internal-sdk/-/internal-sdk-3.0.1.tgz",
      "integrity": "sha512-aW50ZXJuYWwtc2RrLTMuMC4xLXBsYW50ZWQtZm9yLWRhZ3NlYy10ZXN0cw==",
      "license": "SEE LICENSE IN LICENSE.txt"
    },
    "node_modules/copyleft-widget": {
      "version": "2.1.0",
      "resolved": "https://registry.npmjs.org/copyleft-widget/-/copyleft-widget-2.1.0.tgz",
      "integrity": "sha512-Zm9vYmFyYmF6cXV4Y29weWxlZnQtd2lkZ2V0LTIuMS4wLXBsYW50ZWQtZm9yLWRhZ3NlYy10ZXN0cw==",
      "license": "GPL-3.0"
    },
    "node_modules/dual-lib": {
      "version": "1.4.0",
      "resolved": "https://registry.npmjs.org/dual-lib/-/dual-lib-1.4.0.tgz",
      "integrity": "sha512-ZHVhbC1saWItMS40LjAtcGxhbnRlZC1mb3ItZGFnc2VjLXRlc3Rz",
      "license": "(MIT OR GPL-3.0-or-later)"
    },
    "node_modules/is-number": {
      "version": "7.0.0",
      "resolved": "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz",
      "integrity": "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
      "license": "MIT",
      "engines": {
        "node": ">=0.12.0"
      }
    },
    "node_modules/unlabelled-util": {
      "version": "0.3.0",
      "resolved": "https://registry.npmjs.org/unlabelled-util/-/unlabelled-util-0.3.0.tgz",
      "integrity": "sha512-dW5sYWJlbGxlZC11dGlsLTAuMy4wLXBsYW50ZWQtZm9yLWRhZ3NlYy10ZXN0cy1uby1saWNlbnNl"
    }
  }
}
`,
		"src/index.js": "const isNumber = require('is-number');\nmodule.exports = (x) => isNumber(x);\n",
	}
}

// syftCleanNpmTree is a private app (no license of its own, as npm writes for
// "private": true packages) whose only dependencies are MIT.
func syftCleanNpmTree() map[string]string {
	return map[string]string{
		"package.json": `{"name":"internal-app","version":"0.1.0","private":true,"dependencies":{"is-number":"^7.0.0","is-odd":"^3.0.1"}}` + "\n",
		"package-lock.json": `{
  "name": "internal-app",
  "version": "0.1.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "internal-app",
      "version": "0.1.0",
      "dependencies": {
        "is-number": "^7.0.0",
        "is-odd": "^3.0.1"
      }
    },
    "node_modules/is-number": {
      "version": "7.0.0",
      "resolved": "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz",
      "integrity": "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
      "license": "MIT"
    },
    "node_modules/is-odd": {
      "version": "3.0.1",
      "resolved": "https://registry.npmjs.org/is-odd/-/is-odd-3.0.1.tgz",
      "integrity": "sha512-CQpnWPrDwmP1+SMHXZhtLtJv90yiyVfluGsX5iNCVkrhQtU3TQHsUWPG9wkdk9Lgd5yNpAg9jQEo90CBaXgWMA==",
      "license": "MIT",
      "dependencies": {
        "is-number": "^6.0.0"
      }
    },
    "node_modules/is-odd/node_modules/is-number": {
      "version": "6.0.0",
      "resolved": "https://registry.npmjs.org/is-number/-/is-number-6.0.0.tgz",
      "integrity": "sha512-aXMtbnVtYmVyLTYuMC4wLXBsYW50ZWQtZm9yLWRhZ3NlYy10ZXN0cw==",
      "license": "MIT"
    }
  }
}
`,
	}
}

// syftPythonTree is a committed virtualenv: syft reads License
// (and License-Expression) from each installed distribution's METADATA.
func syftPythonTree() map[string]string {
	sp := "venv/lib/python3.11/site-packages/"
	return map[string]string{
		sp + "gplthing-1.2.0.dist-info/METADATA":  "Metadata-Version: 2.1\nName: gplthing\nVersion: 1.2.0\nSummary: planted copyleft distribution\nLicense: GPL-3.0\nRequires-Python: >=3.8\n\n",
		sp + "gplthing-1.2.0.dist-info/RECORD":    "gplthing/__init__.py,,\ngplthing-1.2.0.dist-info/METADATA,,\n",
		sp + "gplthing/__init__.py":               "",
		sp + "requests-2.32.3.dist-info/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nSummary: Python HTTP for Humans.\nLicense: Apache-2.0\nRequires-Python: >=3.8\n\n",
		sp + "requests-2.32.3.dist-info/RECORD":   "requests/__init__.py,,\nrequests-2.32.3.dist-info/METADATA,,\n",
		sp + "requests/__init__.py":               "",
		"app.py":                                  "import requests\n",
	}
}

// syftGPLNotice is the notice the GPL asks to put in each source file; syft's
// license classifier recognises it as GPL-3.0-or-later.
const syftGPLNotice = `gplmod - planted copyleft module
Copyright (C) 2024 Example Authors

This program is free software: you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.

This program is distributed in the hope that it will be useful,
but WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
GNU General Public License for more details.

You should have received a copy of the GNU General Public License
along with this program.  If not, see <https://www.gnu.org/licenses/>.
`

const syftMITText = `MIT License

Copyright (c) 2024 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

// syftGoVendorTree is a Go module with vendored dependencies: syft reads their
// LICENSE files from vendor/ (SYFT_GOLANG_SEARCH_LOCAL_VENDOR_LICENSES).
func syftGoVendorTree() map[string]string {
	return map[string]string{
		"go.mod":  "module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/gplmod v1.0.0\n\texample.com/mitmod v1.1.0\n)\n",
		"main.go": "package main\n\nimport (\n\t_ \"example.com/gplmod\"\n\t_ \"example.com/mitmod\"\n)\n\nfunc main() {}\n",
		"vendor/modules.txt": "# example.com/gplmod v1.0.0\n## explicit\nexample.com/gplmod\n" +
			"# example.com/mitmod v1.1.0\n## explicit\nexample.com/mitmod\n",
		"vendor/example.com/gplmod/LICENSE":   syftGPLNotice,
		"vendor/example.com/gplmod/gplmod.go": "package gplmod\n",
		"vendor/example.com/mitmod/LICENSE":   syftMITText,
		"vendor/example.com/mitmod/mitmod.go": "package mitmod\n",
	}
}

type syftRun struct {
	cdx, spdx []byte
	took      time.Duration
}

// syftRunTool runs the pinned syft over dir as the licenses stage does: the
// argv, env and configuration input from the stages package, working
// folder the source, a clean environment. wrap prefixes the command (for
// unshare); extraEnv is added last.
func syftRunTool(t *testing.T, dir string, wrap []string, extraEnv ...string) syftRun {
	t.Helper()
	bin := testenv.Tool(t, "syft")
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "in"), filepath.Join(tmp, "out")
	for name, data := range stages.SyftInputs() {
		p := filepath.Join(in, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer(stages.SourceDir, dir, stages.InputDir, in, stages.OutputDir, out)
	argv := stages.SyftArgv(stages.OutputDir+"/sbom.cdx.json", stages.OutputDir+"/sbom.spdx.json")
	for i := range argv {
		argv[i] = r.Replace(argv[i])
	}
	argv[0] = bin
	argv = append(slices.Clone(wrap), argv...)

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "TMPDIR=" + tmp, "NO_COLOR=1"}
	for k, v := range stages.SyftEnv() {
		env = append(env, k+"="+r.Replace(v))
	}
	env = append(env, extraEnv...)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	start := time.Now()
	outb, err := cmd.CombinedOutput()
	took := time.Since(start)
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running syft: %v", err)
		}
		code = ee.ExitCode()
	}
	if !slices.Contains(stages.SyftOKCodes, code) {
		t.Fatalf("syft exited %d: %s", code, outb)
	}
	res := syftRun{took: took}
	if res.cdx, err = os.ReadFile(filepath.Join(out, "sbom.cdx.json")); err != nil {
		t.Fatalf("CycloneDX SBOM: %v", err)
	}
	if res.spdx, err = os.ReadFile(filepath.Join(out, "sbom.spdx.json")); err != nil {
		t.Fatalf("SPDX SBOM: %v", err)
	}
	return res
}

// syftByPackage indexes findings by the package name in their purl.
func syftByPackage(t *testing.T, fs []findings.Finding) map[string]findings.Finding {
	t.Helper()
	out := map[string]findings.Finding{}
	for _, f := range fs {
		licCheckFinding(t, f)
		name := ""
		for _, s := range strings.Fields(f.Message) {
			if strings.HasPrefix(s, "(pkg:") {
				name = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
			}
		}
		if name == "" {
			t.Fatalf("finding without a purl: %s", f.Message)
		}
		if _, dup := out[name]; dup {
			t.Fatalf("two findings for %s", name)
		}
		out[name] = f
	}
	return out
}

type syftWant struct {
	rule string
	sev  findings.Severity
	path string
}

func syftCheckFindings(t *testing.T, fs []findings.Finding, want map[string]syftWant) {
	t.Helper()
	got := syftByPackage(t, fs)
	for purl, w := range want {
		f, ok := got[purl]
		if !ok {
			t.Errorf("%s: no finding, want %s %s", purl, w.rule, w.sev)
			continue
		}
		if f.RuleID != w.rule || f.Severity != w.sev || f.Location.Path != w.path {
			t.Errorf("%s: got %s %s at %q, want %s %s at %q (%s)", purl, f.RuleID, f.Severity, f.Location.Path, w.rule, w.sev, w.path, f.Message)
		}
	}
	for purl, f := range got {
		if _, ok := want[purl]; !ok {
			t.Errorf("unexpected finding for %s: %s %s", purl, f.RuleID, f.Message)
		}
	}
}

func syftWriteSample(t *testing.T, name string, data []byte) {
	t.Helper()
	if !*updateSyftSamples {
		return
	}
	if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote testdata/%s", name)
}

func TestSyftLicensesOnPlantedNpmLockfile(t *testing.T) {
	run := syftRunTool(t, testenv.Dir(t, syftNpmTree()), nil)
	t.Logf("syft took %s", run.took)
	syftWriteSample(t, "syft-v1.57.1-npm.cdx.json", run.cdx)
	syftWriteSample(t, "syft-v1.57.1-npm.spdx.json", run.spdx)

	fs, err := stages.EvaluateLicenses(run.cdx, licDefaultPolicy(stages.LicenseWarn))
	if err != nil {
		t.Fatal(err)
	}
	// is-number (MIT), dual-lib (MIT OR GPL-3.0-or-later) and the app's own
	// package pass.
	syftCheckFindings(t, fs, map[string]syftWant{
		"pkg:npm/copyleft-widget@2.1.0":      {stages.RuleLicenseDenied, findings.SeverityHigh, "package-lock.json"},
		"pkg:npm/unlabelled-util@0.3.0":      {stages.RuleLicenseUnknown, findings.SeverityLow, "package-lock.json"},
		"pkg:npm/%40corp/internal-sdk@3.0.1": {stages.RuleLicenseUnknown, findings.SeverityLow, "package-lock.json"},
	})
	for _, f := range fs {
		if f.RuleID == stages.RuleLicenseDenied {
			for _, s := range []string{"copyleft-widget", "2.1.0", "GPL-3.0-only"} {
				if !strings.Contains(f.Message, s) {
					t.Errorf("message %q lacks %s", f.Message, s)
				}
			}
			if !slices.Contains(f.Tags, "npm") || !slices.Contains(f.Tags, "GPL-3.0-only") {
				t.Errorf("tags %v", f.Tags)
			}
		}
	}

	fs, err = stages.EvaluateLicenses(run.cdx, licDefaultPolicy(stages.LicenseBlock))
	if err != nil {
		t.Fatal(err)
	}
	syftCheckFindings(t, fs, map[string]syftWant{
		"pkg:npm/copyleft-widget@2.1.0":      {stages.RuleLicenseDenied, findings.SeverityHigh, "package-lock.json"},
		"pkg:npm/unlabelled-util@0.3.0":      {stages.RuleLicenseUnknown, findings.SeverityHigh, "package-lock.json"},
		"pkg:npm/%40corp/internal-sdk@3.0.1": {stages.RuleLicenseUnknown, findings.SeverityHigh, "package-lock.json"},
	})

	// The SPDX SBOM of the same run is written and is SPDX JSON.
	var spdx struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name            string `json:"name"`
			LicenseDeclared string `json:"licenseDeclared"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(run.spdx, &spdx); err != nil {
		t.Fatalf("SPDX output: %v", err)
	}
	if !strings.HasPrefix(spdx.SPDXVersion, "SPDX-") {
		t.Fatalf("SPDX output has spdxVersion %q", spdx.SPDXVersion)
	}
	declared := map[string]string{}
	for _, p := range spdx.Packages {
		declared[p.Name] = p.LicenseDeclared
	}
	if declared["copyleft-widget"] != "GPL-3.0-only" || declared["is-number"] != "MIT" {
		t.Errorf("SPDX packages: %v", declared)
	}
}

func TestSyftLicensesFromPythonAndGoVendor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tree   map[string]string
		sample string
		want   map[string]syftWant
	}{
		{"python site-packages", syftPythonTree(), "syft-v1.57.1-python.cdx.json", map[string]syftWant{
			"pkg:pypi/gplthing@1.2.0": {stages.RuleLicenseDenied, findings.SeverityHigh, "venv/lib/python3.11/site-packages/gplthing-1.2.0.dist-info/METADATA"},
		}},
		{"go vendor", syftGoVendorTree(), "syft-v1.57.1-go-vendor.cdx.json", map[string]syftWant{
			"pkg:golang/example.com/gplmod@v1.0.0": {stages.RuleLicenseDenied, findings.SeverityHigh, "go.mod"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := syftRunTool(t, testenv.Dir(t, tc.tree), nil)
			syftWriteSample(t, tc.sample, run.cdx)
			fs, err := stages.EvaluateLicenses(run.cdx, licDefaultPolicy(stages.LicenseBlock))
			if err != nil {
				t.Fatal(err)
			}
			syftCheckFindings(t, fs, tc.want)
		})
	}
}

func TestSyftCleanTreeHasNoLicenseFindings(t *testing.T) {
	block := licDefaultPolicy(stages.LicenseBlock)
	run := syftRunTool(t, testenv.Dir(t, syftCleanNpmTree()), nil)
	syftWriteSample(t, "syft-v1.57.1-clean-npm.cdx.json", run.cdx)
	fs, err := stages.EvaluateLicenses(run.cdx, block)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Fatalf("clean tree gave findings: %+v", fs)
	}
	// The private app is in the SBOM, without a license: only the
	// project-package rule keeps it from being a finding.
	if !strings.Contains(string(run.cdx), `"name":"internal-app"`) {
		t.Fatalf("syft no longer lists the project's own package; revisit projectPackages:\n%s", run.cdx)
	}

	// A tree with no package manifests at all: zero components, zero findings.
	run = syftRunTool(t, testenv.Dir(t, testenv.CleanFiles()), nil)
	fs, err = stages.EvaluateLicenses(run.cdx, block)
	if err != nil || len(fs) != 0 {
		t.Fatalf("tree without packages: %v, %v", fs, err)
	}
}

// A repository's own .syft.yaml must not change what the stage scans: here
// it would exclude the lockfile and so every package.
func TestSyftIgnoresRepositoryConfig(t *testing.T) {
	files := syftNpmTree()
	files[".syft.yaml"] = "exclude:\n  - ./package-lock.json\nenrich: [all]\n"
	files[".syft/config.yaml"] = "exclude:\n  - ./package-lock.json\n"
	run := syftRunTool(t, testenv.Dir(t, files), nil)
	fs, err := stages.EvaluateLicenses(run.cdx, licDefaultPolicy(stages.LicenseWarn))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := syftByPackage(t, fs)["pkg:npm/copyleft-widget@2.1.0"]; !ok {
		t.Fatalf("the repository's .syft.yaml hid the lockfile: %+v", fs)
	}
}

// syftProxyTrap is an HTTP(S) proxy that answers nothing and counts who called.
func syftProxyTrap(t *testing.T) (url string, hits *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hits = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String(), hits
}

// syftNoNetwork returns a command prefix that runs a program without network
// (a new, empty network namespace), or nil where that is not possible.
func syftNoNetwork(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		return nil
	}
	for _, prefix := range [][]string{{"unshare", "--net"}, {"unshare", "--map-root-user", "--net"}} {
		if exec.Command(prefix[0], append(prefix[1:], "true")...).Run() == nil {
			return prefix
		}
	}
	return nil
}

func TestSyftRunsOffline(t *testing.T) {
	dir := testenv.Dir(t, syftNpmTree())

	// No network at all: syft still completes, quickly, with the licenses.
	if wrap := syftNoNetwork(t); wrap != nil {
		run := syftRunTool(t, dir, wrap)
		t.Logf("syft without network on a tiny tree: %s", run.took)
		if run.took > time.Minute {
			t.Errorf("syft took %s without network: it is waiting on something", run.took)
		}
		fs, err := stages.EvaluateLicenses(run.cdx, licDefaultPolicy(stages.LicenseWarn))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := syftByPackage(t, fs)["pkg:npm/copyleft-widget@2.1.0"]; !ok {
			t.Errorf("no license data without network: %+v", fs)
		}
	} else {
		t.Log("no network namespace here (unshare unavailable); relying on the proxy trap alone")
	}

	// With a network, syft tries nothing: every HTTP client it has honours
	// the proxy variables, and the trap proxy sees no call...
	url, hits := syftProxyTrap(t)
	proxyEnv := []string{"HTTPS_PROXY=" + url, "HTTP_PROXY=" + url, "https_proxy=" + url, "http_proxy=" + url}
	run := syftRunTool(t, dir, nil, proxyEnv...)
	t.Logf("syft with a trap proxy: %s", run.took)
	if n := hits.Load(); n != 0 {
		t.Fatalf("syft made %d network connections with SyftEnv", n)
	}

	// ...while syft's own defaults do call out (the update check), so the
	// trap does catch what it is meant to.
	bin := testenv.Tool(t, "syft")
	cmd := exec.Command(bin, "scan", "dir:.", "--quiet", "--output", "cyclonedx-json="+filepath.Join(t.TempDir(), "x.json"))
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, proxyEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("default syft run: %v: %s", err, out)
	}
	if hits.Load() == 0 {
		t.Fatal("the trap proxy saw nothing from syft's default run either: the offline check proves nothing")
	}
}

func TestSyftArgvEnvAndConfig(t *testing.T) {
	argv := stages.SyftArgv("OUT/a.cdx.json", "OUT/a.spdx.json")
	for _, want := range []string{"scan", "dir:.", "cyclonedx-json=OUT/a.cdx.json", "spdx-json=OUT/a.spdx.json",
		stages.InputDir + "/" + stages.SyftConfigInput} {
		if !slices.Contains(argv, want) {
			t.Errorf("argv %q lacks %q", argv, want)
		}
	}
	if argv[0] != "syft" {
		t.Errorf("argv[0] = %q", argv[0])
	}
	env := stages.SyftEnv()
	for k, v := range map[string]string{
		"SYFT_CHECK_FOR_APP_UPDATE":              "false",
		"SYFT_GOLANG_SEARCH_REMOTE_LICENSES":     "false",
		"SYFT_GOLANG_USE_PACKAGES_LIB":           "false",
		"SYFT_JAVASCRIPT_SEARCH_REMOTE_LICENSES": "false",
		"SYFT_PYTHON_SEARCH_REMOTE_LICENSES":     "false",
		"SYFT_JAVA_USE_NETWORK":                  "false",
		"SYFT_ENRICH":                            "none",
	} {
		if env[k] != v {
			t.Errorf("SyftEnv()[%s] = %q, want %q", k, env[k], v)
		}
	}
	env["SYFT_CHECK_FOR_APP_UPDATE"] = "true"
	if stages.SyftEnv()["SYFT_CHECK_FOR_APP_UPDATE"] != "false" {
		t.Error("SyftEnv returns a shared map")
	}
	if !slices.Equal(stages.SyftOKCodes, []int{0}) {
		t.Errorf("SyftOKCodes = %v", stages.SyftOKCodes)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(stages.SyftInputs()[stages.SyftConfigInput], &cfg); err != nil {
		t.Fatalf("syft config: %v", err)
	}
	if cfg["check-for-app-update"] != false {
		t.Errorf("config: %v", cfg)
	}
}
