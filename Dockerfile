# syntax=docker/dockerfile:1
# Multi-stage build: a static binary (no cgo: the embedded SQLite driver is
# pure Go) on a distroless base, run as a non-root user.

FROM golang:1.27.3-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Generated *_templ.go files are committed (CI checks they are in sync), so
# the build needs no code generation.
# The build context has no .git for Go to stamp a revision from: -version
# prints VERSION (docker build --build-arg VERSION=$(git describe --always --dirty)).
ARG VERSION=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o /out/healthcare . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/healthcare /usr/local/bin/healthcare
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV ADDR=0.0.0.0:8000 \
    SQLITE_PATH=/data/healthcare.db
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/healthcare", "-healthcheck"]
ENTRYPOINT ["/usr/local/bin/healthcare"]
