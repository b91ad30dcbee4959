package pipeline

// ImagesLock says which images.lock a run used and what became of it.
type ImagesLock struct {
	// File is the lock as the caller named it.
	File string `json:"file"`
	// ByDigest is true when the runner ran every image as IMAGE@DIGEST
	// (the Dagger module: the engine pulls by digest, so a moved tag
	// cannot change what runs). The host runs no images: it checks tags.
	ByDigest bool `json:"by_digest,omitempty"`
	// Checked lists the images (IMAGE@DIGEST) whose tags the registry
	// still resolves to the locked digest.
	Checked []string `json:"checked,omitempty"`
	// Unchecked lists the images whose registry could not be asked, and
	// why; their tags were not checked in this run.
	Unchecked []string `json:"unchecked,omitempty"`
}

// lockedImage is the image, by digest, the lock pins a tool to; "" without
// a lock.
func (c Config) lockedImage(tool string) string { return c.ImagePins[tool] }
