package stages

import "maps"

// SyftConfigInput is the name, under InputDir, of the syft configuration
// SyftArgv points syft at; put SyftInputs() into the step's Inputs.
const SyftConfigInput = "syft.yaml"

// syftConfig is dagsec's syft configuration. It repeats what SyftEnv sets;
// its main job is to be the one configuration file syft reads: given no
// --config, syft would also read .syft.yaml (and .syft/config.yaml) from its
// working folder, which is the scanned source, and from the home folder. A
// repository could then exclude its own packages from the scan or turn
// network enrichment back on.
const syftConfig = `# dagsec: syft runs offline and reads nothing outside the source.
check-for-app-update: false
enrich: [none]
cache:
  ttl: "0"
golang:
  search-remote-licenses: false
  search-local-mod-cache-licenses: false
  search-local-vendor-licenses: true
  use-packages-lib: false
java:
  use-network: false
  use-maven-local-repository: false
  resolve-transitive-dependencies: false
javascript:
  search-remote-licenses: false
python:
  search-remote-licenses: false
cpp:
  vcpkg-allow-git-clone: false
`

// SyftInputs are the files a syft step needs under InputDir.
func SyftInputs() map[string][]byte {
	return map[string][]byte{SyftConfigInput: []byte(syftConfig)}
}

// SyftArgv scans the working folder (run it with Workdir SourceDir, so the
// paths in the SBOM are relative to the source) and writes CycloneDX JSON to
// cdx and SPDX JSON to spdx in one run. It reads InputDir/syft.yaml from
// SyftInputs and nothing else as configuration.
func SyftArgv(cdx, spdx string) []string {
	return []string{"syft", "scan", "dir:.",
		"--config", InputDir + "/" + SyftConfigInput,
		"--quiet",
		"--output", "cyclonedx-json=" + cdx,
		"--output", "spdx-json=" + spdx,
	}
}

// syftEnv turns off everything in syft v1.57.1 that reaches the network or
// reads outside the scanned source. Environment variables override any
// configuration file, so these hold even if a configuration is misplaced.
var syftEnv = map[string]string{
	// the update check calls toolbox-data.anchore.io on every start
	"SYFT_CHECK_FOR_APP_UPDATE": "false",
	// --enrich all would turn every remote lookup below back on
	"SYFT_ENRICH": "none",
	// no cache under the home folder; with lookups off nothing is fetched
	"SYFT_CACHE_TTL": "0",
	// Go: no license downloads from the module proxy; no go/packages,
	// which runs the go command in the source (and so may download modules
	// or a toolchain). The Go module cache is read only where a `go mod
	// download` step filled it first (withGoModCache), on both runners, so
	// both give one answer. Vendored modules inside the source are read.
	"SYFT_GOLANG_SEARCH_REMOTE_LICENSES":          "false",
	"SYFT_GOLANG_USE_PACKAGES_LIB":                "false",
	"SYFT_GOLANG_SEARCH_LOCAL_MOD_CACHE_LICENSES": "false",
	"SYFT_GOLANG_SEARCH_LOCAL_VENDOR_LICENSES":    "true",
	"GOPROXY":     "off",
	"GOTOOLCHAIN": "local",
	// Java: no Maven Central, no ~/.m2
	"SYFT_JAVA_USE_NETWORK":                     "false",
	"SYFT_JAVA_USE_MAVEN_LOCAL_REPOSITORY":      "false",
	"SYFT_JAVA_RESOLVE_TRANSITIVE_DEPENDENCIES": "false",
	// JavaScript and Python: no registry license lookups
	"SYFT_JAVASCRIPT_SEARCH_REMOTE_LICENSES": "false",
	"SYFT_PYTHON_SEARCH_REMOTE_LICENSES":     "false",
	// C/C++: no git clones of vcpkg registries
	"SYFT_CPP_VCPKG_ALLOW_GIT_CLONE": "false",
}

// SyftEnv is the environment a syft step sets (see SyftArgv).
func SyftEnv() map[string]string { return maps.Clone(syftEnv) }

// SyftOKCodes are syft's exit codes for a completed scan: syft exits 0
// whatever it finds (the policy is applied by EvaluateLicenses) and 1 on
// any error.
var SyftOKCodes = []int{0}
