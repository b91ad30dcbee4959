# syntax=docker/dockerfile:1
# A hardened multi-stage build: the builder may run as root, the final stage
# is pinned by digest, runs unprivileged and has a health check.
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}@sha256:0f5b6a9b8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f AS builder
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static@sha256:3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
COPY --from=builder /out/app /app
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=3s CMD ["/app", "healthz"]
ENTRYPOINT ["/app"]
