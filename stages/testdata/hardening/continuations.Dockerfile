FROM alpine:3.20 \
    AS base
RUN apk add --no-cache \
      curl \
      ca-certificates
RUN <<EOT
set -eu
adduser -D app
EOT
# the last USER wins
USER app
USER \
  root
HEALTHCHECK CMD \
  wget -qO- http://localhost:8080/healthz || exit 1
