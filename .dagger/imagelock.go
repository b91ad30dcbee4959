package main

import (
	"context"
	"fmt"
	"maps"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/imagelock"
	"github.com/dagsec/dagsec/imagelock/resolve"
	"github.com/dagsec/dagsec/pipeline"
)

// lockImages reads the images.lock a run uses (the constructor's
// --images-lock, else the source's own), pins the runner's tool images
// and its helper to IMAGE@DIGEST, so the engine pulls exactly what was
// locked, and asks the registries about the tags of the selected stages'
// images: a tag that moved or is gone fails the run naming the image. A
// registry that does not answer, or refuses an anonymous lookup (this
// process has no Docker credentials), leaves its tags unchecked, noted in
// the report; the pull by digest still holds. Without a lock it returns
// nils and the runner keeps the tags.
func (m *Dagsec) lockImages(ctx context.Context, source *dagger.Directory, runner *daggerRunner, selected []string) (map[string]string, *pipeline.ImagesLock, error) {
	f := m.ImagesLock
	if f == nil {
		ok, err := source.Exists(ctx, imagelock.File, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
		if err != nil {
			return nil, nil, fmt.Errorf("checking the source for %s: %w", imagelock.File, err)
		}
		if !ok {
			return nil, nil, nil
		}
		f = source.File(imagelock.File)
	}
	name, data, err := readInput(ctx, f, imagelock.MaxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("images lock: %w", err)
	}
	lock, err := imagelock.Parse(data, name)
	if err != nil {
		return nil, nil, err
	}
	pins, err := lock.Pins(imagelock.Images(runImages(runner)))
	if err != nil {
		return nil, nil, err
	}
	tags, err := resolve.CheckTags(ctx, lock, imagelock.RunNames(selected), true)
	if err != nil {
		return nil, nil, err
	}
	runner.images = map[string]string{}
	for n, ref := range pins {
		if n == imagelock.Helper {
			runner.helperImage = ref
		} else {
			runner.images[n] = ref
		}
	}
	return pins, &pipeline.ImagesLock{File: name, ByDigest: true, Checked: tags.Checked, Unchecked: tags.Unchecked}, nil
}

// runImages are the runner's overrides of the pins (the constructor's
// options and the policy's images:), the helper's under imagelock.Helper.
func runImages(runner *daggerRunner) map[string]string {
	out := maps.Clone(runner.images)
	if out == nil {
		out = map[string]string{}
	}
	if runner.helperImage != "" {
		out[imagelock.Helper] = runner.helperImage
	}
	return out
}
