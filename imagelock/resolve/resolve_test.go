package resolve

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/imagelock"
	"github.com/dagsec/dagsec/internal/testenv"
)

func TestLockAndCheck(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	images := map[string]string{
		"trivy":          reg + "/aquasec/trivy:0.74.0",
		imagelock.Helper: reg + "/library/busybox:1.37.0",
	}
	want := map[string]string{}
	for n, img := range images {
		want[n] = testenv.PushRandomImage(t, img)
	}
	lock, err := Lock(ctx, images)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lock.Entries {
		if e.Digest != want[e.Name] {
			t.Errorf("%s locked at %s, pushed %s", e.Name, e.Digest, want[e.Name])
		}
	}
	for _, r := range Check(ctx, lock, nil) {
		if p := r.Problem(); p != "" {
			t.Errorf("fresh lock: %s", p)
		}
	}

	// The tag moves: the check names the image and both digests.
	moved := testenv.PushRandomImage(t, images["trivy"])
	res := Check(ctx, lock, []string{"trivy"})
	if len(res) != 1 || !res[0].Moved() || res[0].Unreachable {
		t.Fatalf("after the tag moved: %+v", res)
	}
	p := res[0].Problem()
	for _, w := range []string{images["trivy"], "the tag moved", want["trivy"], moved} {
		if !strings.Contains(p, w) {
			t.Errorf("problem %q does not name %q", p, w)
		}
	}
}

func TestResolveFailures(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	// A port nothing listens on: no answer at all.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name, image string
		unreachable bool
		want        string
	}{
		{"no such tag", reg + "/nothing/here:1", false, reg + "/nothing/here:1"},
		{"registry down", closed + "/aquasec/trivy:0.74.0", true, closed},
		{"a digest, not a tag", reg + "/a/b@sha256:" + strings.Repeat("a", 64), false, "already names a digest"},
		{"not a reference", "UPPER/Case:x", false, "not an image reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Digest(ctx, tc.image)
			if err == nil {
				t.Fatal("Digest succeeded")
			}
			if got := Unreachable(err); got != tc.unreachable {
				t.Errorf("Unreachable(%v) = %v, want %v", err, got, tc.unreachable)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
	if _, err := Lock(ctx, map[string]string{"trivy": reg + "/nothing/here:1"}); err == nil || !strings.Contains(err.Error(), "trivy: ") {
		t.Errorf("Lock of a missing tag: %v", err)
	}
}
