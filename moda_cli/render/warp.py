"""Piecewise-affine image warp driven by control-point displacements.

Precomputed once per portrait: a Delaunay triangulation of the source control points and,
for every pixel of the region that can move (at reduced resolution), its triangle and
barycentric weights. Per frame: the forward displacement field d (source -> target) is a
weighted sum of vertex displacements; the backward map the image needs is found by the
fixed-point iteration p = q - d(p) on the reduced grid, upsampled and applied with one
cv2.remap. Pixels outside the region never move, so only the region is produced.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import Delaunay

# The displacement field is computed on a grid 2 working-crop pixels apart, then upsampled:
# it is smooth over a few pixels, and a finer grid only adds work.
FIELD_STEP = 2
FIXED_POINT_ITERS = 4
# Bilinear remaps whose map holds offsets from each output pixel, not positions.
_RELATIVE = cv2.INTER_LINEAR | cv2.WARP_RELATIVE_MAP


@dataclass(frozen=True)
class Region:
    """Axis-aligned pixel box x0:x1, y0:y1 in the crop."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def even(self, width: int, height: int) -> Region:
        """Grown to even corners (yuv420p encodes 2x2 blocks), kept inside width x height."""
        return Region(
            self.x0 - self.x0 % 2,
            self.y0 - self.y0 % 2,
            min(self.x1 + self.x1 % 2, width),
            min(self.y1 + self.y1 % 2, height),
        )


class MeshWarp:
    """Warps an image given (V, 2) displacements of ``source`` points (image pixels).

    region: only pixels inside it can move; it must contain every triangle whose vertices
    may have non-zero displacement (the caller keeps fixed anchors around it).
    step: grid spacing of the displacement field in this image's pixels.
    still_from: the vertices from this index on never move (their displacements are not read).
    """

    def __init__(
        self,
        source: np.ndarray,
        region: Region,
        step: int,
        preferred: np.ndarray | None = None,
        still_from: int | None = None,
    ) -> None:
        if step < 1:
            raise ValueError(f"field step must be at least 1 pixel, got {step}")
        self.region = region
        self.step = step
        self.delaunay = Delaunay(source)
        extra = np.zeros((0, 3), np.int64) if preferred is None else np.asarray(preferred, np.int64)
        self.triangles = np.vstack([self.delaunay.simplices, extra])  # (T, 3)
        gw = (region.x1 - region.x0 + step - 1) // step + 1
        gh = (region.y1 - region.y0 + step - 1) // step + 1
        self.grid_shape = (gh, gw)
        gx = region.x0 + step * np.arange(gw, dtype=np.float64)
        gy = region.y0 + step * np.arange(gh, dtype=np.float64)
        xx, yy = np.meshgrid(gx, gy)
        pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
        # Our own rasterisation: Qhull's find_simplex took seconds on some meshes.
        tri_map = np.full((gh, gw), -1, np.int64)
        _rasterize(source, self.delaunay.simplices, xx, yy, step, tri_map, 0)
        if len(extra):  # preferred triangles win wherever they cover a node
            _rasterize(source, extra, xx, yy, step, tri_map, len(self.delaunay.simplices))
        tri_id = tri_map.ravel()
        inside = tri_id >= 0  # grid points past the hull (the last row/column) get zero motion
        tri_id = np.maximum(tri_id, 0)
        corners = source[self.triangles]  # (T, 3, 2)
        edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=2)
        det = np.linalg.det(edges)
        ok = np.abs(det) > 1e-9  # a closed mouth's opening triangles have no area
        edges_inv = np.zeros_like(edges)
        edges_inv[ok] = np.linalg.inv(edges[ok])  # (T, 2, 2): offsets -> edge coordinates
        lam = np.einsum("nij,nj->ni", edges_inv[tri_id], pts - corners[tri_id, 0])
        weights = np.concatenate([1.0 - lam.sum(axis=1, keepdims=True), lam], axis=1)
        weights[~inside] = 0.0
        # The field is linear in the vertex displacements: node n moves by the weighted
        # sum of its triangle's three vertices (one sparse (N, V) matrix here; GridWarp
        # gathers the same vertices and weights on a device).
        self.node_vertices = self.triangles[tri_id]  # (N, 3)
        self.node_weights = weights.astype(np.float32)  # (N, 3)
        rows = np.repeat(np.arange(len(pts)), 3)
        # Terms that are always 0 left out: a fifth of a headshot's nodes lie among still points.
        moving = len(source) if still_from is None else still_from
        keep = (self.node_weights.ravel() != 0) & (self.node_vertices.ravel() < moving)
        rows, cols, vals = (
            rows[keep],
            self.node_vertices.ravel()[keep],
            self.node_weights.ravel()[keep],
        )
        # x and y interleaved, as (x0, y0, x1, y1, ...) in and out: one matrix-vector product
        # gives the (gh, gw, 2) field with no merge of two planes.
        self._interp = csr_matrix(
            (np.tile(vals, 2), (np.r_[2 * rows, 2 * rows + 1], np.r_[2 * cols, 2 * cols + 1])),
            shape=(2 * len(pts), 2 * len(source)),
        )
        # Grid node k sits at pixel step * k; resizing to this (width, height) puts it
        # there up to a quarter cell at the region's far edges, where the field is ~0.
        self.upsampled_size = ((gw - 1) * step + 1, (gh - 1) * step + 1)
        # v (grid cells) -> x0 + step * vx, y0 + step * vy; cv2.transform is one pass over
        # the grid (numpy's broadcast of a (2,) offset over the last axis took 0.2 ms)
        self._to_offsets = np.array([[step, 0, region.x0], [0, step, region.y0]], np.float32)

    @property
    def cells(self) -> np.ndarray:
        """(gh, gw, 2) float32: each grid node's own (x, y) in grid cells."""
        gh, gw = self.grid_shape
        return np.dstack(
            np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
        )

    @property
    def pixels(self) -> np.ndarray:
        """(h, w, 2) float32: each region pixel's own (x, y) in the image."""
        r = self.region
        rx, ry = np.arange(r.x0, r.x1, dtype=np.float32), np.arange(r.y0, r.y1, dtype=np.float32)
        return np.dstack(np.meshgrid(rx, ry))

    def forward_field(self, disp: np.ndarray) -> np.ndarray:
        """(V, 2) vertex displacements -> (gh, gw, 2) float32 field on the reduced grid."""
        # x and y as one interleaved vector: scipy's sparse matrix-vector path beats its
        # matrix-matrix one for two columns (0.19 vs 0.50 ms on a 512 px headshot).
        return (self._interp @ np.asarray(disp, np.float32).ravel()).reshape(*self.grid_shape, 2)

    def backward_field(self, forward: np.ndarray) -> np.ndarray:
        """Solve p + d(p) = q for p on the grid; returns v = (p - q) / step (gh, gw, 2), in
        grid cells.

        Fixed-point steps p <- q - d(p) converge wherever the warp neither folds nor
        squeezes a region to nothing. Where it does (a closed eyelid), the few pixels left
        unresolved sit on the closing line, and the eyelid painter covers them.
        (Newton steps with per-triangle Jacobians were tried: they jump erratically across
        collapsed triangles and leave blocky noise.)
        """
        back = forward * np.float32(-1.0 / self.step)  # -d in grid cells
        v = back
        for _ in range(FIXED_POINT_ITERS):
            # v <- -d(q + v) / step: a relative map adds each node's own position q, so
            # a step is one remap and no arithmetic on the grid.
            v = cv2.remap(back, v, None, _RELATIVE, borderMode=cv2.BORDER_REPLICATE)  # type: ignore[call-overload]  # the stubs miss map2=None (one CV_32FC2 map)
        return v

    def apply(self, image: np.ndarray, disp: np.ndarray) -> np.ndarray:
        """Warp ``image`` (H, W, C) by vertex displacements; returns the region only.

        The result is a new (h, w, C) array for ``self.region``: every pixel outside it is
        ``image``'s own, so callers that keep the rest of the image need only this part.
        """
        # Region pixel (x, y) samples image pixel (x0 + x, y0 + y) + step * v: resizing is
        # linear, so the offset and scale go on the grid, and the upsampled grid is the
        # relative map itself (no full-size map of pixel positions to subtract from).
        offsets = cv2.transform(self.backward_field(self.forward_field(disp)), self._to_offsets)
        h, w = self.region.y1 - self.region.y0, self.region.x1 - self.region.x0
        full = cv2.resize(offsets, self.upsampled_size, interpolation=cv2.INTER_LINEAR)
        return cv2.remap(  # type: ignore[call-overload]  # map2=None: one CV_32FC2 map
            image, full[:h, :w], None, _RELATIVE, borderMode=cv2.BORDER_REPLICATE
        )


def _rasterize(
    source: np.ndarray,
    triangles: np.ndarray,
    xx: np.ndarray,
    yy: np.ndarray,
    step: int,
    out: np.ndarray,
    offset: int,
) -> None:
    """Write ``offset + k`` into ``out`` at the grid nodes (xx, yy), ``step`` apart, inside
    triangle k."""
    h, w = out.shape
    corners = source[triangles]  # (T, 3, 2)
    edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=2)
    flat = np.abs(np.linalg.det(edges)) < 1e-9
    inverses = np.zeros_like(edges)
    inverses[~flat] = np.linalg.inv(edges[~flat])  # (T, 2, 2), all at once: the loop only slices
    origin = np.array([xx[0, 0], yy[0, 0]])
    lo = np.maximum(np.floor((corners.min(axis=1) - origin) / step).astype(int), 0)  # (T, 2) j, i
    hi = np.minimum(np.ceil((corners.max(axis=1) - origin) / step).astype(int) + 1, (w, h))
    for k in np.flatnonzero(~flat & (hi > lo).all(axis=1)):
        (j0, i0), (j1, i1), p0 = lo[k], hi[k], corners[k, 0]
        q = np.stack([xx[i0:i1, j0:j1] - p0[0], yy[i0:i1, j0:j1] - p0[1]], axis=-1)
        lam = q @ inverses[k].T
        hit = (lam >= -1e-6).all(axis=-1) & (lam.sum(axis=-1) <= 1 + 1e-6)
        out[i0:i1, j0:j1][hit] = offset + k
