"""Read one CUDA device's health through NVML (utilisation, temperature, power); every reading is None without it."""

import logging
import threading

import torch

logger = logging.getLogger(__name__)

try:
    import pynvml
except ImportError:  # nvidia-ml-py is optional: the engine runs without GPU telemetry
    pynvml = None


class GpuMonitor:
    def __init__(self, device: torch.device):
        self.device = device
        self._handle = self._open(device)

    @property
    def available(self) -> bool:
        return self._handle is not None

    @staticmethod
    def _open(device: torch.device):
        if device.type != "cuda" or pynvml is None:
            return None
        try:
            pynvml.nvmlInit()
            # By UUID, so that CUDA_VISIBLE_DEVICES remapping cannot point us at another GPU.
            index = device.index if device.index is not None else torch.cuda.current_device()
            uuid = str(torch.cuda.get_device_properties(index).uuid)
            try:
                return pynvml.nvmlDeviceGetHandleByUUID(f"GPU-{uuid}")
            except pynvml.NVMLError:
                return pynvml.nvmlDeviceGetHandleByIndex(index)
        except Exception as error:  # no driver, no library, MIG quirks: telemetry is never worth a failed start
            logger.warning("NVML unavailable, GPU telemetry will be null: %s", error)
            return None

    def utilization(self) -> float | None:
        """Fraction of the last sample period (1/6 s to 1 s) in which a kernel ran, 0..1."""
        return self._read(lambda handle: pynvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100.0)

    def temperature_c(self) -> float | None:
        return self._read(lambda handle: float(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)))

    def power_w(self) -> float | None:
        return self._read(lambda handle: pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)

    def _read(self, reader):
        if self._handle is None:
            return None
        try:
            return reader(self._handle)
        except Exception as error:
            logger.debug("NVML read failed: %s", error)
            return None


class UtilizationSampler:
    """Samples utilisation on a thread while a job runs; `mean` is None when nothing could be read."""

    def __init__(self, monitor: GpuMonitor, interval_s: float = 0.2):
        self._monitor = monitor
        self._interval_s = interval_s
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "UtilizationSampler":
        if self._monitor.available:
            self._thread = threading.Thread(target=self._run, name="gpu-util-sampler", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._sample()  # a job shorter than the interval still gets one reading

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._sample()

    def _sample(self) -> None:
        value = self._monitor.utilization()
        if value is not None:
            self._samples.append(value)

    @property
    def mean(self) -> float | None:
        return round(sum(self._samples) / len(self._samples), 4) if self._samples else None
