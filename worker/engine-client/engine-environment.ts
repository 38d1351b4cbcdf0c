// The engine's environment, from an allow-list: what Python, torch, CUDA and the model hub need, nothing else.
// The worker's own environment holds REDIS_URL (with its password), bot tokens and whatever cloud keys the host
// has; a deny-list would let every new secret through. The engine's settings travel as one document.
import { ENGINE_SETTINGS_VAR, type EngineSettings } from './engine-protocol.ts';

/** Exact names passed on. */
const EXACT = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'TZ', 'LANG', 'LANGUAGE', 'LD_LIBRARY_PATH', 'XDG_CACHE_HOME']);
/**
 * Prefixes passed on: locale, the Hugging Face hub and libraries, CUDA/NVIDIA, NCCL and gloo (CFG parallelism), torch
 * (PYTORCH_CUDA_ALLOC_CONF, say) and Triton (compile caches), Python, and the CPU thread pools (OMP/MKL).
 */
const PREFIXES = ['LC_', 'HF_', 'HUGGINGFACE_', 'CUDA_', 'NVIDIA_', 'NCCL_', 'GLOO_', 'TORCH', 'PYTORCH_', 'TRITON_', 'PYTHON', 'OMP_', 'MKL_', 'TRANSFORMERS_', 'DIFFUSERS_'];

export function isPassedToEngine(name: string): boolean {
  return EXACT.has(name) || PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** `source` (the worker's environment plus per-GPU extras) filtered by the allow-list, plus the settings document. */
export function engineEnvironment(source: NodeJS.ProcessEnv, settings: EngineSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) if (value !== undefined && isPassedToEngine(name)) env[name] = value;
  env.PYTHONUNBUFFERED = '1';
  env[ENGINE_SETTINGS_VAR] = JSON.stringify(settings);
  return env;
}
