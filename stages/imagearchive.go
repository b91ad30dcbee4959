package stages

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// MaxImageConfigBytes bounds an image's manifest, index or config JSON.
const MaxImageConfigBytes = 4 << 20

// ArchiveReader reads one member of an image tarball by name; it returns an
// error wrapping fs.ErrNotExist for a member the tarball lacks. The host
// reads the tarball itself; the Dagger runner asks a container.
type ArchiveReader func(name string) ([]byte, error)

// ArchiveConfig returns the image config JSON of an image tarball in either
// layout: docker-archive (manifest.json, as `docker save` writes) or OCI
// (index.json and blobs/, as Dagger's Container.asTarball writes). A
// tarball of several images is refused: which one to check is ambiguous.
func ArchiveConfig(read ArchiveReader) ([]byte, error) {
	data, err := read("manifest.json")
	switch {
	case err == nil:
		var entries []struct {
			Config string `json:"Config"`
		}
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil, fmt.Errorf("manifest.json: %w", err)
		}
		if len(entries) != 1 || entries[0].Config == "" {
			return nil, fmt.Errorf("manifest.json lists %d images, want exactly one with a config", len(entries))
		}
		return readMember(read, entries[0].Config)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	desc, err := ociDescriptor(read, "index.json")
	if err != nil {
		return nil, err
	}
	// An index may point at a manifest or, one level down, at another index
	// (multi-platform tarballs are refused by the single-entry rule).
	for range 3 {
		data, err := readMember(read, blobPath(desc.Digest))
		if err != nil {
			return nil, err
		}
		var m struct {
			Config    ociDesc   `json:"config"`
			Manifests []ociDesc `json:"manifests"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", blobPath(desc.Digest), err)
		}
		if m.Config.Digest != "" {
			return readMember(read, blobPath(m.Config.Digest))
		}
		if len(m.Manifests) != 1 {
			return nil, fmt.Errorf("%s lists %d manifests, want exactly one", blobPath(desc.Digest), len(m.Manifests))
		}
		desc = m.Manifests[0]
	}
	return nil, errors.New("image index nests too deeply")
}

type ociDesc struct {
	Digest string `json:"digest"`
}

func ociDescriptor(read ArchiveReader, name string) (ociDesc, error) {
	data, err := readMember(read, name)
	if err != nil {
		return ociDesc{}, fmt.Errorf("not an image tarball (no manifest.json or index.json): %w", err)
	}
	var idx struct {
		Manifests []ociDesc `json:"manifests"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return ociDesc{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(idx.Manifests) != 1 {
		return ociDesc{}, fmt.Errorf("%s lists %d manifests, want exactly one", name, len(idx.Manifests))
	}
	return idx.Manifests[0], nil
}

// blobPath is where an OCI layout keeps a blob: blobs/<alg>/<hex>.
func blobPath(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return "blobs/" + alg + "/" + hex
}

func readMember(read ArchiveReader, name string) ([]byte, error) {
	clean := path.Clean(strings.TrimPrefix(name, "/"))
	if clean == "." || strings.HasPrefix(clean, "../") || clean == ".." {
		return nil, fmt.Errorf("image tarball names an unsafe member %q", name)
	}
	data, err := read(clean)
	if err != nil {
		return nil, fmt.Errorf("image tarball: %s: %w", clean, err)
	}
	if len(data) > MaxImageConfigBytes {
		return nil, fmt.Errorf("image tarball: %s is larger than %d bytes", clean, MaxImageConfigBytes)
	}
	return data, nil
}

// FileArchiveReader reads members of an image tarball on disk. Each read
// scans the tarball from the start: only a few small JSON members are read.
func FileArchiveReader(file string) ArchiveReader {
	return func(name string) ([]byte, error) {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		tr := tar.NewReader(f)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", file, err)
			}
			if path.Clean(strings.TrimPrefix(h.Name, "./")) != name || h.Typeflag != tar.TypeReg {
				continue
			}
			return io.ReadAll(io.LimitReader(tr, MaxImageConfigBytes+1))
		}
	}
}
