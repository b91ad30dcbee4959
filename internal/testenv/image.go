package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ImageSpec describes an image for ImageTarball: one layer of Files, or
// Layers.
type ImageSpec struct {
	// Files are the layer's files by path in the image (no leading slash).
	Files map[string]string
	// Layers, when set, replace Files: each layer with the history command
	// that made it, in order.
	Layers  []LayerSpec
	User    string   // config.User; "" means none (root)
	Env     []string // config.Env, NAME=value
	Created time.Time
	Tag     string // RepoTags entry; "" means dagsec-test:latest
}

// LayerSpec is one layer of an image and the command that made it, as a
// builder writes it in the config's history ("COPY app/ /app/ # buildkit").
type LayerSpec struct {
	CreatedBy string
	Files     map[string]string
}

// ImageTarball writes a docker-archive tarball (what `docker save` writes:
// manifest.json, the config JSON and one uncompressed layer tar) built
// from spec into a temporary folder, and returns its path and the config
// JSON. No daemon or registry is involved.
func ImageTarball(t testing.TB, spec ImageSpec) (path string, config []byte) {
	t.Helper()
	layers := spec.Layers
	if len(layers) == 0 {
		layers = []LayerSpec{{CreatedBy: "COPY . / # dagsec test image", Files: spec.Files}}
	}
	created := spec.Created
	if created.IsZero() {
		created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	cfg := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      created.UTC().Format(time.RFC3339Nano),
		"config": map[string]any{
			"User": spec.User,
			"Env":  spec.Env,
			"Cmd":  []string{"/app/run"},
		},
	}
	var diffIDs, layerNames []string
	var history []map[string]any
	var tars [][]byte
	for _, l := range layers {
		data := layerTar(t, l.Files)
		sum := sha256.Sum256(data)
		diffIDs = append(diffIDs, "sha256:"+hex.EncodeToString(sum[:]))
		layerNames = append(layerNames, hex.EncodeToString(sum[:])+"/layer.tar")
		history = append(history, map[string]any{"created": created.UTC().Format(time.RFC3339Nano), "created_by": l.CreatedBy})
		tars = append(tars, data)
	}
	// An instruction that makes no layer, as builders record them.
	history = append(history, map[string]any{"created": created.UTC().Format(time.RFC3339Nano), "created_by": `CMD ["/app/run"]`, "empty_layer": true})
	cfg["rootfs"] = map[string]any{"type": "layers", "diff_ids": diffIDs}
	cfg["history"] = history
	config, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgSum := sha256.Sum256(config)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	tag := spec.Tag
	if tag == "" {
		tag = "dagsec-test:latest"
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": layerNames}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeTarFile(t, tw, "manifest.json", manifest)
	writeTarFile(t, tw, cfgName, config)
	for i, name := range layerNames {
		writeTarFile(t, tw, name, tars[i])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, config
}

// layerTar packs files, with their parent folders, into a layer tar.
func layerTar(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var names []string
	dirs := map[string]bool{}
	for name := range files {
		names = append(names, name)
		for d := filepath.Dir(name); d != "." && d != "/"; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	slices.Sort(names)
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	slices.Sort(dirList)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, d := range dirList {
		h := &tar.Header{Name: strings.TrimPrefix(d, "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		writeTarFile(t, tw, strings.TrimPrefix(name, "/"), []byte(files[name]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTarFile(t testing.TB, tw *tar.Writer, name string, data []byte) {
	t.Helper()
	h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)),
		ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := tw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
}

// PlantedImageFiles is a small Debian-like image: os-release, a dpkg
// status with one package (zlib1g 1:1.2.13.dfsg-1), an npm package
// installed under node_modules (left-pad 1.3.0), and /app/config.env
// holding the planted AWS key id.
func PlantedImageFiles() map[string]string {
	return map[string]string{
		"etc/os-release": `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`,
		"etc/debian_version": "12.12\n",
		"var/lib/dpkg/status": `Package: zlib1g
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 168
Maintainer: Mark Brown <broonie@debian.org>
Architecture: amd64
Multi-Arch: same
Source: zlib
Version: 1:1.2.13.dfsg-1
Provides: libz1
Depends: libc6 (>= 2.14)
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.
Homepage: http://zlib.net/

`,
		"app/node_modules/left-pad/package.json": `{"name": "left-pad", "version": "1.3.0", "license": "WTFPL", "main": "index.js"}
`,
		"app/config.env": "REGION=eu-west-1\nAWS_ACCESS_KEY_ID=" + AWSKeyID + "\n",
		"app/run":        "#!/bin/sh\nexec echo ok\n",
	}
}
