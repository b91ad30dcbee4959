package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dagsec/dagsec/imagelock"
	"github.com/dagsec/dagsec/imagelock/resolve"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

const imagesExits = "Exit codes: 0 done, 2 an image could not be resolved, a tag moved, a bad lock or flag."

// imagesOptions are the flags of images lock and images verify.
type imagesOptions struct{ policy, out, lock string }

func (o *imagesOptions) registerPolicy(fs *flag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy `FILE` whose images: replace pins (default: "+policies.RepoFile+" here when there is one); DAGSEC_IMAGE_<TOOL> variables apply too")
}

func (o *imagesOptions) registerLock(fs *flag.FlagSet) {
	o.registerPolicy(fs)
	fs.StringVar(&o.out, "out", imagelock.File, "lock `FILE` to write")
}

func (o *imagesOptions) registerVerify(fs *flag.FlagSet) {
	o.registerPolicy(fs)
	fs.StringVar(&o.lock, "images-lock", imagelock.File, "lock `FILE` to check")
}

// runImages are the images a run here would use: the pins, the policy's
// images: and the DAGSEC_IMAGE_<TOOL> variables.
func (o *imagesOptions) runImages() (map[string]string, error) {
	file := o.policy
	if file == "" {
		var err error
		if file, err = repoPolicy("."); err != nil {
			return nil, err
		}
	}
	pol, err := loadPolicy(file, "")
	if err != nil {
		return nil, err
	}
	return imagelock.Images(pol.Images), nil
}

// cmdImagesLock resolves every image to its digest and writes the lock.
func cmdImagesLock(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
	var o imagesOptions
	pos, err := parseFlags("images lock", o.registerLock, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 0 {
		return exitError, usageError{"images lock takes no arguments", "images lock"}
	}
	images, err := o.runImages()
	if err != nil {
		return exitError, err
	}
	lock, err := resolve.Lock(ctx, images)
	if err != nil {
		return exitError, fmt.Errorf("images lock: %w", err)
	}
	if err := writeFileAtomic(o.out, lock.Marshal()); err != nil {
		return exitError, err
	}
	for _, e := range lock.Entries {
		fmt.Fprintf(stdout, "%-12s %s\n", e.Name, e.Ref())
	}
	fmt.Fprintf(stdout, "locked %d images in %s\n", len(lock.Entries), o.out)
	return exitPassed, nil
}

// cmdImagesVerify checks that the lock holds every image a run uses and
// that each tag still has its locked digest. An unreachable registry is
// an error here: checking it is the command's whole job.
func cmdImagesVerify(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
	var o imagesOptions
	pos, err := parseFlags("images verify", o.registerVerify, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 0 {
		return exitError, usageError{"images verify takes no arguments", "images verify"}
	}
	lock, err := imagelock.Read(o.lock)
	if err != nil {
		return exitError, err
	}
	images, err := o.runImages()
	if err != nil {
		return exitError, err
	}
	if _, err := lock.Pins(images); err != nil {
		return exitError, err
	}
	var problems []string
	for _, r := range resolve.Check(ctx, lock, nil) {
		state := "ok"
		if p := r.Problem(); p != "" {
			problems = append(problems, p)
			state = "FAILED"
		}
		fmt.Fprintf(stdout, "%-6s %-12s %s\n", state, r.Name, r.Ref())
	}
	if len(problems) > 0 {
		return exitError, fmt.Errorf("%s: %d of %d images do not match: %s", o.lock, len(problems), len(lock.Entries), strings.Join(problems, "; "))
	}
	fmt.Fprintf(stdout, "%s: every tag still has its locked digest\n", o.lock)
	return exitPassed, nil
}

// scanImagesLock reads the lock a scan uses (--images-lock, else the
// source's images.lock when there is one), checks it holds every image a
// run uses, and asks the registries about the tags of the selected
// stages' tools. A moved tag, or an answer refusing the tag, is an error
// naming the image. A registry that does not answer leaves its images
// unchecked, noted in the report: the host runs no image (its tools are
// built from the Go module proxy, checked by go.sum), so the check is a
// tripwire for the images the module pulls, and offline scans go on.
func scanImagesLock(ctx context.Context, given, source string, pol *policies.Policy, selected []string, notes io.Writer) (map[string]string, *pipeline.ImagesLock, error) {
	file := given
	if file == "" {
		p := filepath.Join(source, imagelock.File)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		file = p
	}
	lock, err := imagelock.Read(file)
	if err != nil {
		return nil, nil, err
	}
	pins, err := lock.Pins(imagelock.Images(pol.Images))
	if err != nil {
		return nil, nil, err
	}
	tags, err := resolve.CheckTags(ctx, lock, imagelock.RunNames(selected), false)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range tags.Unchecked {
		fmt.Fprintf(notes, "%s: %s\n", file, u)
	}
	info := &pipeline.ImagesLock{File: file, Checked: tags.Checked, Unchecked: tags.Unchecked}
	return pins, info, nil
}

// writeFileAtomic writes data to path through a temporary file, so a
// reader never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
