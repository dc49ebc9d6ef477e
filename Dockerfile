# keylease as a container image, for the scheduled audit and rotation jobs.
#
#   docker build --build-arg VERSION=v1.2.3 -t keylease .
#   docker run --rm keylease version
#
# Build stage: a static, reproducible binary (no cgo, no local paths).
FROM golang:1.26.10-bookworm AS build
WORKDIR /src
# Module downloads are cached in their own layer: they change less often
# than the source.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/keylease ./cmd/keylease

# Final stage: no shell, no package manager, runs as uid 65532.
# Pin by digest in production (docker buildx imagetools inspect
# gcr.io/distroless/static-debian12:nonroot prints the current one); the tag
# is used here because this repository is built without network access to
# the registry.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/keylease /keylease
USER nonroot:nonroot
ENTRYPOINT ["/keylease"]
