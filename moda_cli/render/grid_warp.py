"""MeshWarp's per-frame work as sampled grids in torch: many frames at once, on a GPU.

The same steps as ``MeshWarp.apply`` (see warp.py), batched over B frames:

    vertex displacements (B, V, 2)
      -> forward field on the reduced grid: each node gathers its triangle's 3 vertices
      -> backward field: FIXED_POINT_ITERS x grid_sample of the forward field
      -> upsampled to pixels (bilinear, the same sampling positions as cv2.resize)
      -> grid_sample of the premultiplied person layer, rounded to bytes as OpenCV's remap does
      -> plus the plate times (255 - A) / 255, as layer.composite: (B, h, w, 3) uint8 region

On a CPU the OpenCV path is faster; this one exists for CUDA devices, where a batch of
frames is a handful of kernel launches. It runs on the CPU too, which is how it is tested
against the OpenCV path.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .layer import SceneLayer
from .warp import FIXED_POINT_ITERS, MeshWarp


def _normalized(coords: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """(..., 2) pixel coordinates (x, y), pixel centres at integers -> grid_sample's [-1, 1]."""
    scale = coords.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    return coords * scale - 1.0


class GridWarp:
    """Warps one fixed person layer over its plate for batches of vertex displacements."""

    def __init__(self, warp: MeshWarp, scene: SceneLayer, device: str | torch.device) -> None:
        self.device = torch.device(device)
        self.region = warp.region
        self.grid_shape = warp.grid_shape
        self.upsampled_size = warp.upsampled_size
        self.step = warp.step
        dev = self.device
        self._vertices = torch.as_tensor(warp.node_vertices, device=dev)  # (N, 3)
        self._weights = torch.as_tensor(warp.node_weights, device=dev)[..., None]  # (N, 3, 1)
        self._cells = torch.as_tensor(warp.cells, device=dev)  # (gh, gw, 2)
        self._pixels = torch.as_tensor(warp.pixels, device=dev)  # (h, w, 2)
        # (1, 4, H, W) float: the premultiplied person layer, sampled by every frame
        self._layer = torch.tensor(scene.layer, device=dev).permute(2, 0, 1)[None].float()
        # (1, 3, h, w) float: the still plate the warped layer goes over
        self._plate = torch.tensor(scene.plate[..., :3], device=dev).permute(2, 0, 1)[None].float()

    @torch.inference_mode()
    def apply(self, disp: np.ndarray) -> np.ndarray:
        """(B, V, 2) vertex displacements -> (B, h, w, 3) uint8 warped regions (on the host)."""
        gh, gw = self.grid_shape
        d = torch.as_tensor(np.asarray(disp, np.float32), device=self.device)  # (B, V, 2)
        b = d.shape[0]
        field = (d[:, self._vertices] * self._weights).sum(dim=2)  # (B, N, 2)
        forward = field.reshape(b, gh, gw, 2).permute(0, 3, 1, 2)  # (B, 2, gh, gw)
        u = forward
        for _ in range(FIXED_POINT_ITERS):  # p <- q - d(p), in grid cells
            src = self._cells - u.permute(0, 2, 3, 1) / self.step  # (B, gh, gw, 2)
            u = F.grid_sample(
                forward,
                _normalized(src, gw, gh),
                mode="bilinear",
                padding_mode="border",
                align_corners=True,
            )
        width, height = self.upsampled_size
        full = F.interpolate(u, size=(height, width), mode="bilinear", align_corners=False)
        h, w = self._pixels.shape[:2]
        maps = self._pixels - full[:, :, :h, :w].permute(0, 2, 3, 1)  # (B, h, w, 2) source pixels
        image_h, image_w = self._layer.shape[-2:]
        grid = _normalized(maps, image_w, image_h)
        warped = F.grid_sample(
            self._layer.expand(b, -1, -1, -1),
            grid,
            mode="bilinear",
            padding_mode="border",
            align_corners=True,
        ).round_()
        behind = (self._plate * (255.0 - warped[:, 3:]) / 255.0).round_()  # (B, 3, h, w)
        out = (warped[:, :3] + behind).clamp_(0, 255)
        return out.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
