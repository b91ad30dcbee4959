// Package resolve asks registries what digest an image's tag has now, with
// go-containerregistry and the credentials of the usual Docker config
// (authn.DefaultKeychain: ~/.docker/config.json, credential helpers), to
// make an images.lock and to check one.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/dagsec/dagsec/imagelock"
)

// Timeout bounds one image's lookup; a registry that does not answer in
// it counts as unreachable.
const Timeout = 30 * time.Second

// parallel bounds the lookups in flight.
const parallel = 8

// Digest is the digest the registry serves for the image's tag now: the
// manifest list's for a multi-platform image, which pulls by digest on any
// platform.
func Digest(ctx context.Context, image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("%s: not an image reference: %w", image, err)
	}
	if _, isDigest := ref.(name.Digest); isDigest {
		return "", fmt.Errorf("%s already names a digest: lock a tag", image)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		// One try: an unreachable registry should say so quickly.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		// Some registries answer GET but not HEAD for manifests.
		d, gerr := remote.Get(ref, opts...)
		if gerr != nil {
			return "", fmt.Errorf("%s: %w", image, gerr)
		}
		return d.Digest.String(), nil
	}
	return desc.Digest.String(), nil
}

// Unreachable reports an error with no answer from the registry behind it
// (no route, no name, refused, timed out), as opposed to an answer that
// refuses (unauthorized, no such tag).
func Unreachable(err error) bool {
	var te *transport.Error
	var ne net.Error
	if err == nil || errors.As(err, &te) {
		return false
	}
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// Lock resolves every image (name -> reference) to a lock; the error names
// each image that could not be resolved.
func Lock(ctx context.Context, images map[string]string) (*imagelock.Lock, error) {
	digests := map[string]string{}
	var mu sync.Mutex
	var errs []error
	each(images, func(n, img string) {
		d, err := Digest(ctx, img)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
			return
		}
		digests[n] = d
	})
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return nil, errors.Join(errs...)
	}
	return imagelock.New(images, digests), nil
}

// Result is one locked image checked against its registry.
type Result struct {
	imagelock.Entry
	// Current is the digest the tag has now; "" when it could not be had.
	Current string
	// Err says why Current is unknown; Unreachable when no registry answered.
	Err         error
	Unreachable bool
}

// Moved reports a tag that now has another digest than the lock's.
func (r Result) Moved() bool { return r.Err == nil && r.Current != r.Digest }

// Problem describes what is wrong with the image, "" when its tag still
// has the locked digest.
func (r Result) Problem() string {
	switch {
	case r.Err != nil && r.Unreachable:
		return fmt.Sprintf("%s (%s): registry unreachable, digest not checked: %v", r.Image, r.Name, r.Err)
	case r.Err != nil:
		return fmt.Sprintf("%s (%s): %v", r.Image, r.Name, r.Err)
	case r.Moved():
		return fmt.Sprintf("%s (%s): the tag moved: it is locked at %s, the registry now serves %s", r.Image, r.Name, r.Digest, r.Current)
	}
	return ""
}

// Check resolves each entry's tag again, for the names given (every entry
// when names is nil), in name order.
func Check(ctx context.Context, lock *imagelock.Lock, names []string) []Result {
	want := map[string]string{}
	for _, e := range lock.Entries {
		if names == nil || slices.Contains(names, e.Name) {
			want[e.Name] = e.Image
		}
	}
	out := make(map[string]Result, len(want))
	var mu sync.Mutex
	each(want, func(n, img string) {
		e, _ := lock.Entry(n)
		d, err := Digest(ctx, img)
		mu.Lock()
		defer mu.Unlock()
		out[n] = Result{Entry: e, Current: d, Err: err, Unreachable: Unreachable(err)}
	})
	res := make([]Result, 0, len(out))
	for _, n := range slices.Sorted(maps.Keys(out)) {
		res = append(res, out[n])
	}
	return res
}

// each runs f for every name and image, a few at a time.
func each(images map[string]string, f func(name, image string)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, n := range slices.Sorted(maps.Keys(images)) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(n, images[n])
		}()
	}
	wg.Wait()
}

// Refused reports an answer that refuses to say (unauthorized, forbidden):
// a registry that needs credentials this process does not have.
func Refused(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	return te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden
}

// Tags is what CheckTags found: the images (IMAGE@DIGEST) whose tags still
// have their locked digest, and those it could not check, with why.
type Tags struct {
	Checked, Unchecked []string
}

// CheckTags resolves the tags of the named entries again (a run's images,
// imagelock.RunNames) and fails naming every image whose tag moved or is
// gone. A registry that does not answer leaves its images unchecked, and
// so, when refusedOK, does one that refuses without credentials (the
// Dagger module asks anonymously; the engine pulls IMAGE@DIGEST, so what
// runs is the locked image either way).
func CheckTags(ctx context.Context, lock *imagelock.Lock, names []string, refusedOK bool) (Tags, error) {
	var out Tags
	var bad []string
	for _, r := range Check(ctx, lock, names) {
		switch p := r.Problem(); {
		case p == "":
			out.Checked = append(out.Checked, r.Ref())
		case r.Unreachable:
			out.Unchecked = append(out.Unchecked, p)
		case refusedOK && Refused(r.Err):
			out.Unchecked = append(out.Unchecked, fmt.Sprintf("%s (%s): the registry refused an anonymous lookup, tag not checked (pulled by digest): %v", r.Image, r.Name, r.Err))
		default:
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("%s: %s", lock.File, strings.Join(bad, "; "))
	}
	return out, nil
}
