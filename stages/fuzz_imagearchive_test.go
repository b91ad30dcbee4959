package stages_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dagsec/dagsec/stages"
)

// fzTar writes a tarball of the given members, in order.
func fzTar(t testing.TB, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, m[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fzImageConfig is the image config of trivy's alpine-310 golden report
// (testdata/trivy-golden-alpine-310-image.json, Metadata.ImageConfig).
func fzImageConfig(t testing.TB) string {
	t.Helper()
	var r struct {
		Metadata struct{ ImageConfig json.RawMessage }
	}
	if err := json.Unmarshal(readSample(t, "testdata/trivy-golden-alpine-310-image.json"), &r); err != nil || len(r.Metadata.ImageConfig) == 0 {
		t.Fatalf("no image config in the alpine-310 sample: %v", err)
	}
	return string(r.Metadata.ImageConfig)
}

// fzTarMembers reads every regular member of a tarball independently of
// FileArchiveReader, up to the first error.
func fzTarMembers(tarball []byte) [][]byte {
	var out [][]byte
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err != nil {
			return out
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, stages.MaxImageConfigBytes+1))
		if err != nil {
			return out
		}
		out = append(out, data)
	}
}

// FuzzArchiveConfig reads the image config out of a tarball (docker-archive
// or OCI layout) as the build stage does for a saved image. Whatever the
// tarball, no panic; an error comes without a config; a config it returns
// is at most MaxImageConfigBytes and is, byte for byte, a regular member of
// the tarball (never a member it was not pointed at through the manifest,
// a partial read or a path outside the archive).
func FuzzArchiveConfig(f *testing.F) {
	cfg := fzImageConfig(f)
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const mdigest = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	blob := func(d string) string { return "blobs/sha256/" + d[len("sha256:"):] }
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digest + `","size":1}}`
	for _, members := range [][][2]string{
		// docker save
		{{"manifest.json", `[{"Config":"config.json","RepoTags":["app:1"],"Layers":[]}]`}, {"config.json", cfg}},
		{{"./manifest.json", `[{"Config":"/blobs/sha256/c","RepoTags":null,"Layers":["l.tar"]}]`}, {"blobs/sha256/c", cfg}},
		// OCI layout, as Dagger's asTarball writes it
		{{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`}, {"index.json", `{"schemaVersion":2,"manifests":[{"digest":"` + mdigest + `"}]}`}, {blob(mdigest), manifest}, {blob(digest), cfg}},
		// an index pointing at an index
		{{"index.json", `{"manifests":[{"digest":"sha256:aa"}]}`}, {"blobs/sha256/aa", `{"manifests":[{"digest":"` + mdigest + `"}]}`}, {blob(mdigest), manifest}, {blob(digest), cfg}},
		// refused: two images, an unsafe member, no config, too deep
		{{"manifest.json", `[{"Config":"a.json"},{"Config":"b.json"}]`}, {"a.json", cfg}, {"b.json", "{}"}},
		{{"manifest.json", `[{"Config":"../../etc/passwd"}]`}},
		{{"index.json", `{"manifests":[{"digest":"sha256:aa"}]}`}, {"blobs/sha256/aa", `{"manifests":[{"digest":"sha256:aa"}]}`}},
		{{"index.json", `{"manifests":[]}`}},
		{},
	} {
		f.Add(fzTar(f, members...))
	}
	f.Add([]byte("not a tarball"))
	// One file per fuzzing process, overwritten in place for each input:
	// creating or truncating a file per input (ext4 flushes a file
	// truncated to zero when it is closed) slows fuzzing down a hundredfold.
	file := filepath.Join(f.TempDir(), "image.tar")
	fh, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fh.Close() })
	f.Fuzz(func(t *testing.T, tarball []byte) {
		if _, err := fh.WriteAt(tarball, 0); err != nil {
			t.Fatal(err)
		}
		if err := fh.Truncate(int64(len(tarball))); err != nil {
			t.Fatal(err)
		}
		got, err := stages.ArchiveConfig(stages.FileArchiveReader(file))
		if err != nil {
			if got != nil {
				t.Fatalf("a config with the error %v", err)
			}
			if errors.Is(err, os.ErrPermission) {
				t.Fatal(err)
			}
			return
		}
		if len(got) > stages.MaxImageConfigBytes {
			t.Fatalf("config of %d bytes, over MaxImageConfigBytes", len(got))
		}
		for _, m := range fzTarMembers(tarball) {
			if bytes.Equal(m, got) {
				// What the build stage does next must not panic either.
				_, _ = stages.ParseImageConfig(got)
				return
			}
		}
		t.Fatalf("config %.100q is no regular member of the tarball", got)
	})
}
