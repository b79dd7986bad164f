#!/usr/bin/env bash
# Install the real speech recordings used to EVALUATE the audio model (never to train it)
# into DIR, from package registries only (Debian packages and PyPI distributions, pinned):
#
#   benchmarks/install_real_recordings.sh DIR
#
# Layout: DIR/<source>/<file>.wav plus DIR/<source>/COPYRIGHT (the package's own licence
# text). sage_audio_puzzle.real_recordings.list_real_recordings(DIR) lists the files.
# Nothing is installed system-wide: Debian packages are fetched with `apt-get download` and
# unpacked with `dpkg-deb -x`; PyPI files with `pip download --no-deps` and unzip/tar.
# Exits non-zero with one line naming what failed when a source cannot be had.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
DEST="$1"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fail() {
  echo "install_real_recordings: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || fail "needs '$1' ($2)"
}
need apt-get "Debian's package tools"
need dpkg-deb "Debian's package tools"
need unzip "to open PyPI wheels"
need tar "to open PyPI sdists"
"$PYTHON" -m pip --version >/dev/null 2>&1 || fail "needs pip for $PYTHON (set PYTHON=...)"

# Debian package -> unpacked tree under $WORK/<package>.
debian() {
  local package="$1"
  mkdir -p "$WORK/deb"
  if ! (cd "$WORK/deb" && apt-get download -q "$package" >/dev/null 2>&1); then
    (apt-get update -qq >/dev/null 2>&1 || true)
    (cd "$WORK/deb" && apt-get download -q "$package" >/dev/null 2>&1) \
      || fail "apt-get download $package failed (no Debian package index or network?)"
  fi
  dpkg-deb -x "$WORK"/deb/"${package}"_*.deb "$WORK/$package" || fail "dpkg-deb could not unpack $package"
}

# PyPI distribution==version -> the downloaded file's path on stdout.
pypi() {
  local requirement="$1" kind="$2"
  local target="$WORK/pypi/${requirement%%==*}"
  mkdir -p "$target"
  local flag=(--only-binary :all:)
  [ "$kind" = sdist ] && flag=(--no-binary "${requirement%%==*}")
  "$PYTHON" -m pip download -q --no-deps --disable-pip-version-check "${flag[@]}" -d "$target" "$requirement" \
    >/dev/null 2>&1 || fail "pip download $requirement ($kind) failed"
  ls "$target"/* | head -n 1
}

# copy SOURCE_NAME SRC_TREE COPYRIGHT_FILE FILE... : files (relative to SRC_TREE) into DEST/SOURCE_NAME.
copy() {
  local name="$1" tree="$2" copyright="$3"
  shift 3
  mkdir -p "$WORK/out/$name"
  cp "$tree/$copyright" "$WORK/out/$name/COPYRIGHT" || fail "$name: no licence file $copyright"
  local file
  for file in "$@"; do
    cp "$tree/$file" "$WORK/out/$name/" || fail "$name: the package has no $file"
  done
}

# 1. alsa-utils (Debian, GPL-2): one human voice naming speaker positions, and one noise file.
debian alsa-utils
copy alsa-utils "$WORK/alsa-utils" usr/share/doc/alsa-utils/copyright \
  usr/share/sounds/alsa/{Front_Center,Front_Left,Front_Right,Rear_Center,Rear_Left,Rear_Right,Side_Left,Side_Right,Noise}.wav

# 2. codec2-examples (Debian, LGPL-2.1): the codec's speech test recordings.
debian codec2-examples
copy codec2-16k "$WORK/codec2-examples" usr/share/doc/codec2-examples/copyright \
  usr/share/codec2/raw/speech_orig_16k.wav usr/share/codec2/wav/wia_16kHz.wav
copy codec2-8k "$WORK/codec2-examples" usr/share/doc/codec2-examples/copyright \
  usr/share/codec2/wav/{hts1a,hts2a,forig,morig,mmt1,big_dog,cross}.wav

# 3. pysptk sdist (PyPI): one CMU ARCTIC utterance (CMU's free-use licence, in the sdist).
sdist="$(pypi pysptk==1.0.1 sdist)"
mkdir -p "$WORK/pysptk" && tar -xzf "$sdist" -C "$WORK/pysptk" || fail "could not unpack $sdist"
copy pysptk "$WORK/pysptk/pysptk-1.0.1/pysptk/example_audio_data" COPYING arctic_a0007.wav

# 4. amfm-decompy wheel (PyPI, MIT): its example recording.
wheel="$(pypi amfm-decompy==1.0.12.2 wheel)"
unzip -q -o "$wheel" -d "$WORK/amfm" || fail "could not unpack $wheel"
copy amfm-decompy "$WORK/amfm" amfm_decompy-1.0.12.2.dist-info/licenses/LICENSE amfm_decompy/sample.wav

# 5. pyannote-audio wheel (PyPI, MIT): 30 s of two people talking (its diarization sample).
wheel="$(pypi pyannote-audio==4.0.7 wheel)"
unzip -q -o "$wheel" 'pyannote/audio/sample/*' 'pyannote_audio-4.0.7.dist-info/*' -d "$WORK/pyannote" \
  || fail "could not unpack $wheel"
copy pyannote-audio "$WORK/pyannote" pyannote_audio-4.0.7.dist-info/licenses/LICENSE pyannote/audio/sample/sample.wav

# All or nothing: DEST gets the sources only once every one of them is in place.
mkdir -p "$DEST"
for source in "$WORK"/out/*; do
  rm -rf "$DEST/$(basename "$source")"
  cp -r "$source" "$DEST/"
done
echo "install_real_recordings: $(find "$DEST" -name '*.wav' | wc -l) recordings in $DEST"
