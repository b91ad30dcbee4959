package host

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dagsec/dagsec/stages"
)

// VulnDBPath is where the pinned vulnerability database is kept:
// Dir/vulndb@<version>, laid out as stages.VulnDBGovulncheck and
// stages.VulnDBOSVScanner say.
func (i *Installer) VulnDBPath() string {
	return filepath.Join(i.Dir, "vulndb@"+stages.VulnDBVersion)
}

// VulnDBReady reports whether the pinned database is complete: the folder
// is renamed into place only once everything in it is written, so a
// VERSION file naming the pin means a finished build.
func (i *Installer) VulnDBReady() bool {
	_, err := checkVulnDB(i.VulnDBPath())
	return err == nil
}

// checkVulnDB accepts only a complete database of the pinned version.
func checkVulnDB(dir string) (stages.VulnDBStamp, error) {
	st, err := ReadVulnDB(dir)
	if err != nil {
		return st, err
	}
	if st.Module != stages.VulnDBModule || st.Version != stages.VulnDBVersion {
		return st, fmt.Errorf("%s holds %s, not the pinned %s@%s", dir, st, stages.VulnDBModule, stages.VulnDBVersion)
	}
	return st, nil
}

// ReadVulnDB checks that a folder is laid out as a dagsec vulnerability
// database (a caller-supplied Options.VulnDB, say) and returns what its
// VERSION file says, for the run report.
func ReadVulnDB(dir string) (stages.VulnDBStamp, error) {
	b, err := os.ReadFile(filepath.Join(dir, stages.VulnDBVersionFile))
	if errors.Is(err, fs.ErrNotExist) {
		return stages.VulnDBStamp{}, fmt.Errorf("%s has no %s file: not a dagsec vulnerability database", dir, stages.VulnDBVersionFile)
	}
	if err != nil {
		return stages.VulnDBStamp{}, err
	}
	st, err := stages.ParseVulnDBStamp(b)
	if err != nil {
		return st, fmt.Errorf("%s: %w", dir, err)
	}
	for _, f := range []string{
		filepath.Join(stages.VulnDBGovulncheck, "index", "db.json"),
		filepath.Join(stages.VulnDBGovulncheck, "index", "modules.json"),
		filepath.Join(stages.VulnDBOSVScanner, filepath.FromSlash(stages.VulnDBOSVGoZip)),
	} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return st, fmt.Errorf("vulnerability database %s is incomplete: %w", dir, err)
		}
	}
	return st, nil
}

// EnsureVulnDB returns the local Go vulnerability database folder, building
// it first when it is missing: the pinned golang.org/x/vulndb module comes
// from the Go module proxy, its cmd/indexdb writes the govulncheck layout,
// and its data/osv entries are zipped for osv-scanner. Like Ensure it is
// idempotent and safe from two processes: the database is built in a
// temporary folder next to its place and renamed into it.
func (i *Installer) EnsureVulnDB(ctx context.Context) (dir string, err error) {
	dst := i.VulnDBPath()
	if i.VulnDBReady() {
		return dst, nil
	}
	goBin := i.Go
	if goBin == "" {
		p, err := exec.LookPath("go")
		if err != nil {
			return "", fmt.Errorf("building the vulnerability database needs Go on PATH: %w", err)
		}
		goBin = p
	}
	if err := os.MkdirAll(i.Dir, 0o755); err != nil {
		return "", fmt.Errorf("tools folder: %w", err)
	}
	work, err := os.MkdirTemp("", "dagsec-vulndb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	mod := stages.VulnDBModule + "@" + stages.VulnDBVersion
	i.say("dagsec: building the Go vulnerability database %s into %s (first use only)\n", mod, dst)
	start := time.Now()

	src, err := i.downloadModule(ctx, goBin, work, stages.VulnDBModule, stages.VulnDBVersion)
	if err != nil {
		return "", fmt.Errorf("vulnerability database: %w", err)
	}
	osvDir := filepath.Join(src, "data", "osv")
	entries, err := osvFiles(osvDir)
	if err != nil {
		return "", fmt.Errorf("vulnerability database %s: %w", mod, err)
	}

	// indexdb is built like any pinned tool, into the throwaway folder: it
	// is needed once per database version.
	indexdb := stages.Tool{
		Name:      "indexdb",
		Version:   stages.VulnDBVersion,
		GoModule:  stages.VulnDBModule,
		GoPackage: stages.VulnDBModule + "/cmd/indexdb",
	}
	sub := &Installer{Dir: filepath.Join(work, "bin"), Progress: i.Progress, Go: goBin}
	bin, err := sub.Ensure(ctx, indexdb)
	if err != nil {
		return "", fmt.Errorf("vulnerability database: %w", err)
	}

	tmp, err := os.MkdirTemp(i.Dir, filepath.Base(dst)+".tmp-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	gv := filepath.Join(tmp, stages.VulnDBGovulncheck)
	if err := i.run(ctx, work, indexdb, []string{bin, "-vulns", osvDir, "-out", gv}); err != nil {
		return "", fmt.Errorf("vulnerability database: indexdb: %w", err)
	}
	if err := stampDBIndex(gv, stages.VulnDBVersion); err != nil {
		return "", fmt.Errorf("vulnerability database: %w", err)
	}
	ids, err := filepath.Glob(filepath.Join(gv, "ID", "*.json"))
	if err != nil {
		return "", err
	}
	if len(ids) != len(entries) {
		return "", fmt.Errorf("vulnerability database: indexdb wrote %d entries, %s holds %d", len(ids), mod, len(entries))
	}
	zipPath := filepath.Join(tmp, stages.VulnDBOSVScanner, filepath.FromSlash(stages.VulnDBOSVGoZip))
	if err := writeOSVZip(zipPath, osvDir, entries); err != nil {
		return "", fmt.Errorf("vulnerability database: %w", err)
	}
	stamp := stages.VulnDBStamp{Module: stages.VulnDBModule, Version: stages.VulnDBVersion, Entries: len(entries)}
	if err := os.WriteFile(filepath.Join(tmp, stages.VulnDBVersionFile), stamp.Marshal(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		// Another process may have finished first; its database is as good.
		if _, cerr := checkVulnDB(dst); cerr == nil {
			os.RemoveAll(tmp)
			return dst, nil
		}
		return "", fmt.Errorf("installing the vulnerability database: %w", err)
	}
	i.say("dagsec: built the Go vulnerability database %s (%d entries) in %s\n", mod, len(entries), time.Since(start).Round(time.Second))
	return dst, nil
}

// stampDBIndex sets the database's last-modified time, which govulncheck
// reports as db_last_modified, to the vulndb commit time the pseudo-version
// carries. The OSV files in the vulndb repository all say modified
// 0001-01-01 (vuln.go.dev fills the real times in when it publishes), so
// indexdb alone would write that.
func stampDBIndex(dir, version string) error {
	t, err := pseudoVersionTime(version)
	if err != nil {
		return err
	}
	b, err := json.Marshal(struct {
		Modified time.Time `json:"modified"`
	}{t})
	if err != nil {
		return err
	}
	p := filepath.Join(dir, "index", "db.json")
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("indexdb wrote no index/db.json: %w", err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(p+".gz", gz.Bytes(), 0o644)
}

// pseudoVersionTime reads the UTC commit time of a Go pseudo-version
// (vX.Y.Z-yyyymmddhhmmss-abcdefabcdef and its pre-release forms).
func pseudoVersionTime(v string) (time.Time, error) {
	parts := strings.Split(v, "-")
	if len(parts) < 3 {
		return time.Time{}, fmt.Errorf("%q is not a pseudo-version", v)
	}
	ts := parts[len(parts)-2]
	if i := strings.LastIndex(ts, "."); i >= 0 {
		ts = ts[i+1:]
	}
	t, err := time.Parse("20060102150405", ts)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a pseudo-version: %w", v, err)
	}
	return t.UTC(), nil
}

// downloadModule fetches a module through the Go module proxy into the
// module cache and returns its folder there.
func (i *Installer) downloadModule(ctx context.Context, goBin, work, path, version string) (string, error) {
	// A throwaway module, as for tools, so the caller's go.mod and go.work
	// play no part.
	gomod := "module dagsecbuild/download\n\ngo 1.22\n"
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	i.say("dagsec: downloading %s@%s\n", path, version)
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", path+"@"+version)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	// go mod download -json reports failures in the JSON as well as by its
	// exit code; either is an error.
	var info struct {
		Path, Version, Dir, Error string
	}
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download %s@%s: %w\n%s", path, version, runErr, stages.Tail(stderr.String(), 2000))
		}
		return "", fmt.Errorf("go mod download %s@%s: unreadable answer: %w", path, version, err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", path, version, info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w\n%s", path, version, runErr, stages.Tail(stderr.String(), 2000))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no module folder in the answer", path, version)
	}
	return info.Dir, nil
}

// osvFiles lists the OSV entries of a vulndb data/osv folder, sorted.
func osvFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() && strings.HasSuffix(de.Name(), ".json") && de.Name() != "index.json" {
			out = append(out, de.Name())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no OSV entries in %s", dir)
	}
	sort.Strings(out)
	return out, nil
}

// writeOSVZip writes the zip osv-scanner reads for one ecosystem: the OSV
// JSON files at its root, in name order.
func writeOSVZip(dst, dir string, names []string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, n := range names {
		if err := addZipFile(zw, filepath.Join(dir, n), n); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func addZipFile(zw *zip.Writer, src, name string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	// No modification time: the archive depends on the entries alone.
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("zipping %s: %w", name, err)
	}
	return nil
}
