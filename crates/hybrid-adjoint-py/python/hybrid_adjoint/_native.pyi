"""Type stubs of the native module (Rust, PyO3). Use the documented wrappers in
hybrid_adjoint (FeedForwardNet, Network, training, ball): they convert arguments to the float64/int64
arrays these functions take."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
SpikeTrain = Tuple[F64, I64]

__version__: str

def rayon_threads() -> int: ...

class FeedForwardNet:
    def __init__(
        self,
        weights: Sequence[F64],
        kinds: Sequence[str],
        tau_mem: float,
        tau_syn: float,
        threshold: float,
        t_end: float,
    ) -> None: ...
    @property
    def n_inputs(self) -> int: ...
    @property
    def layer_sizes(self) -> List[int]: ...
    @property
    def layer_kinds(self) -> List[str]: ...
    @property
    def params(self) -> Tuple[float, float, float, float]: ...
    @property
    def neuron_offsets(self) -> List[int]: ...
    def get_weights(self) -> List[F64]: ...
    def set_weights(self, weights: Sequence[F64]) -> None: ...
    def forward(self, inputs: Sequence[SpikeTrain]) -> Tuple[F64, F64, List[F64], List[I64]]: ...
    def loss_and_gradient(
        self,
        inputs: Sequence[SpikeTrain],
        labels: I64,
        loss: str,
        tau0: float,
        tau1: float,
        alpha: float,
        kappa: Optional[float],
        reduction: str,
    ) -> Tuple[F64, I64, List[F64]]: ...
    def evaluate(
        self,
        inputs: Sequence[SpikeTrain],
        labels: I64,
        loss: str,
        tau0: float,
        tau1: float,
        alpha: float,
        kappa: Optional[float],
    ) -> Tuple[F64, I64]: ...
    def vjp(
        self,
        inputs: Sequence[SpikeTrain],
        d_first_spike_times: Optional[F64],
        d_max_voltage: Optional[F64],
        d_spike_times: Optional[Sequence[F64]],
    ) -> List[F64]: ...

PopulationSpec = Tuple[str, int, float, float, float, str, float]
SynapsesSpec = Tuple[I64, I64, F64]

class Network:
    def __init__(
        self,
        n_inputs: int,
        populations: Sequence[PopulationSpec],
        projections: Sequence[Tuple[str, str, Optional[F64], Optional[SynapsesSpec]]],
        t_end: float,
    ) -> None: ...
    @property
    def n_inputs(self) -> int: ...
    @property
    def t_end(self) -> float: ...
    @property
    def populations(self) -> List[PopulationSpec]: ...
    @property
    def projections(self) -> List[Tuple[str, str, str]]: ...
    @property
    def neuron_offsets(self) -> List[int]: ...
    def synapses(self, index: int) -> Tuple[I64, I64]: ...
    def get_weights(self) -> List[F64]: ...
    def set_weights(self, weights: Sequence[F64]) -> None: ...
    def forward(self, inputs: Sequence[SpikeTrain]) -> Tuple[F64, F64, List[F64], List[I64]]: ...
    def vjp(
        self,
        inputs: Sequence[SpikeTrain],
        d_first_spike_times: Optional[F64],
        d_max_voltage: Optional[F64],
        d_spike_times: Optional[Sequence[F64]],
    ) -> List[F64]: ...

def ball_simulate(
    p: F64, t_end: float, samples: int, rtol: float, atol: float, integrator: str
) -> Dict[str, Any]: ...
def ball_gradient(
    p: F64,
    times: F64,
    heights: F64,
    method: str,
    rtol: float,
    atol: float,
    integrator: str,
) -> Tuple[float, F64]: ...
def ball_check_gradients(
    p: F64,
    times: F64,
    heights: F64,
    rtol: float,
    atol: float,
    integrator: str,
    methods: float,
    finite_differences: float,
    fd_step: float,
    fd_floor: float,
) -> Dict[str, Any]: ...
def default_config(task: str) -> str: ...
def read_run_config(out_dir: str) -> str: ...
def mnist_data_config(dir: str) -> str: ...
def load_data(config_json: str) -> Dict[str, Any]: ...
def write_events(path: str, examples: Sequence[Tuple[F64, I64]], labels: I64) -> None: ...
def train(
    config_json: str,
    out_dir: str,
    mode: str,
    callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]],
    test_each_epoch: bool,
) -> Tuple[str, str]: ...
