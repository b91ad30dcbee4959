package stages

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// TrivyImageArgv runs `trivy image` on the image tarball at ImageTar with
// the given scanners ("vuln", "secret") and its databases in cacheDir.
//
// With the vuln scanner, --skip-db-update reads the database the step's
// DBUpdate downloaded and never downloads it itself (no database: exit 1,
// never a pass). trivy's Java database is left to the scan, which fetches it
// only when the image holds Java archives: --skip-java-db-update would make
// such images fail on a fresh cache. The secret scanner needs no database.
func TrivyImageArgv(report, cacheDir string, scanners []string) []string {
	argv := []string{"trivy", "image",
		"--input", ImageTar,
		"--scanners", strings.Join(scanners, ","),
		"--cache-dir", cacheDir,
		"--skip-db-update",
		"--no-progress",
	}
	return append(argv, trivyCommonFlags(report)...)
}

// TrivyImageConfigTarget is the location of secrets trivy finds in the
// image's config rather than in a file of its layers.
const TrivyImageConfigTarget = "image-config"

// osPackageDB is where an OS family trivy names (a result's Type) keeps
// its package database, the file trivy and grype read the packages from;
// "" for a family not listed here.
func osPackageDB(family string) string {
	switch strings.ToLower(family) {
	case "alpine", "wolfi", "chainguard", "minimos":
		return "lib/apk/db/installed"
	case "debian", "ubuntu", "echo":
		return "var/lib/dpkg/status"
	case "redhat", "centos", "rocky", "alma", "oracle", "amazon", "fedora", "photon", "azurelinux",
		"cbl-mariner", "opensuse", "opensuse.leap", "opensuse.tumbleweed", "sles", "suse linux enterprise micro":
		return "var/lib/rpm"
	}
	return ""
}

// ParseTrivyImage reads the JSON report of `trivy image` (ArtifactType
// container_image) into findings of the image stage, as ParseTrivy does,
// with locations that do not depend on where the tarball was:
//
//   - OS packages (Class os-pkgs), whose Target is "<input path> (<os>
//     <version>)", are placed at the OS's package database in the image
//     (var/lib/dpkg/status, lib/apk/db/installed, var/lib/rpm), or at the
//     OS family name for a family not listed.
//   - Language packages (Class lang-pkgs) are placed at the package's path
//     in the image (PkgPath) when trivy gives one, else at the result's
//     Target (a lockfile or binary in the image).
//   - Secrets keep the path of the file inside the image that holds them;
//     those trivy finds in the image's config (its environment, labels,
//     history), reported under the tarball's path, are placed at
//     TrivyImageConfigTarget.
//
// Any other report, including one of `trivy fs`, is an error.
//
// Those paths are inside the image, not files of the source: each finding
// names its path in its message and identity, and has no location.
// ParseTrivyImageAt places the findings at the Dockerfile.
func ParseTrivyImage(report []byte) ([]findings.Finding, TrivyDB, error) {
	return ParseTrivyImageAt(report, ImageOrigins{})
}

// ParseTrivyImageAt is ParseTrivyImage with each finding placed at the
// Dockerfile instruction that brought in its layer (trivy's Layer.DiffID);
// a secret in the image's config, at the Dockerfile.
func ParseTrivyImageAt(report []byte, o ImageOrigins) ([]findings.Finding, TrivyDB, error) {
	norm, err := normalizeTrivyImage(report)
	if err != nil {
		return nil, TrivyDB{}, err
	}
	return parseTrivy(norm, Image, func(f *findings.Finding, diffID string) {
		loc := o.Layer(diffID)
		if f.Location.Path == TrivyImageConfigTarget {
			loc = o.File()
		}
		placeInImage(f, loc)
	})
}

// placeInImage moves an image finding from the path inside the image its
// tool named to loc (a Dockerfile line, or nowhere): the path stays in its
// message and, so that copies of a package in two places stay apart, in
// its identity.
func placeInImage(f *findings.Finding, loc findings.Location) {
	if p := f.Location.Path; p != "" {
		f.Identity = p + "|" + f.Identity
		f.Message += " [in the image: " + p + "]"
	}
	f.Location = loc
}

// normalizeTrivyImage rewrites the Targets of an image report as
// ParseTrivyImage describes, leaving every other field as trivy wrote it.
func normalizeTrivyImage(report []byte) ([]byte, error) {
	var raw map[string]json.RawMessage
	if err := decodeStrictObject(report, &raw, "trivy image report"); err != nil {
		return nil, err
	}
	var kind string
	if err := json.Unmarshal(raw["ArtifactType"], &kind); err != nil || kind != "container_image" {
		return nil, fmt.Errorf("trivy image report: ArtifactType %s, want \"container_image\"", clipText(string(raw["ArtifactType"]), 40))
	}
	var name string
	if err := unmarshalOptional(raw["ArtifactName"], &name); err != nil {
		return nil, fmt.Errorf("trivy image report: ArtifactName: %w", err)
	}
	res, ok := raw["Results"]
	if !ok || string(res) == "null" {
		return report, nil
	}
	var results []map[string]json.RawMessage
	if err := json.Unmarshal(res, &results); err != nil {
		return nil, fmt.Errorf("trivy image report: Results: %w", err)
	}
	var out []map[string]json.RawMessage
	for i, r := range results {
		split, err := relocateTrivyResult(r, name)
		if err != nil {
			return nil, fmt.Errorf("trivy image report: result %d: %w", i, err)
		}
		out = append(out, split...)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	raw["Results"] = b
	return json.Marshal(raw)
}

// relocateTrivyResult gives one result its image-independent Target; a
// language result splits into one result per package path.
func relocateTrivyResult(r map[string]json.RawMessage, artifact string) ([]map[string]json.RawMessage, error) {
	var class, typ, target string
	if err := unmarshalOptional(r["Target"], &target); err != nil {
		return nil, fmt.Errorf("Target: %w", err)
	}
	if err := unmarshalOptional(r["Class"], &class); err != nil {
		return nil, fmt.Errorf("Class: %w", err)
	}
	if err := unmarshalOptional(r["Type"], &typ); err != nil {
		return nil, fmt.Errorf("Type: %w", err)
	}
	switch class {
	case "os-pkgs":
		db := osPackageDB(typ)
		if db == "" {
			db = typ
		}
		if db == "" {
			return nil, fmt.Errorf("OS packages without an OS Type")
		}
		r["Target"], _ = json.Marshal(db)
		return []map[string]json.RawMessage{r}, nil
	case "lang-pkgs":
		return splitByPkgPath(r)
	case "secret":
		if artifact != "" && target == artifact {
			r["Target"], _ = json.Marshal(TrivyImageConfigTarget)
		}
	}
	return []map[string]json.RawMessage{r}, nil
}

// splitByPkgPath moves each vulnerability with a PkgPath into a result
// whose Target is that path; the rest stay under the result's Target.
func splitByPkgPath(r map[string]json.RawMessage) ([]map[string]json.RawMessage, error) {
	var vulns []json.RawMessage
	if err := unmarshalOptional(r["Vulnerabilities"], &vulns); err != nil {
		return nil, fmt.Errorf("Vulnerabilities: %w", err)
	}
	byPath := map[string][]json.RawMessage{}
	var order []string
	for j, v := range vulns {
		var p struct{ PkgPath string }
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, fmt.Errorf("vulnerability %d: %w", j, err)
		}
		if _, seen := byPath[p.PkgPath]; !seen {
			order = append(order, p.PkgPath)
		}
		byPath[p.PkgPath] = append(byPath[p.PkgPath], v)
	}
	if len(order) == 0 || (len(order) == 1 && order[0] == "") {
		return []map[string]json.RawMessage{r}, nil
	}
	var out []map[string]json.RawMessage
	for _, p := range order {
		c := maps.Clone(r)
		c["Vulnerabilities"], _ = json.Marshal(byPath[p])
		if p != "" {
			c["Target"], _ = json.Marshal(p)
		}
		out = append(out, c)
	}
	return out, nil
}

func unmarshalOptional(data json.RawMessage, v any) error {
	if len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, v)
}
