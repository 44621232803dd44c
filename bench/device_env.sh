# device_env.sh — sourced on the GPU machine before running a `make GPU=1` binary: puts the
# directories of the shared CUDA libraries bertc loads (cuBLASLt; cuFFT for M2-BERT) on
# LD_LIBRARY_PATH, wherever they are installed (a CUDA 13 PyTorch install has both).
for bertc_lib in libcublasLt.so.13 libcufft.so.12; do
  bertc_path=$(find / -name "$bertc_lib" -not -path '/proc/*' 2>/dev/null | head -1)
  if [ -n "$bertc_path" ]; then
    LD_LIBRARY_PATH=$(dirname "$bertc_path")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  else
    echo "device_env.sh: $bertc_lib not found; bertc built with GPU=1 will not start" >&2
  fi
done
export LD_LIBRARY_PATH
unset bertc_lib bertc_path
