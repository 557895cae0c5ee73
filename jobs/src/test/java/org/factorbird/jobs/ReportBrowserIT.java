package org.factorbird.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training report as a user sees it: a local grid run and a local single run each write report.html and
 * metrics.csv, {@code factorbird report} rebuilds them, and the report rendered by headless Chromium (Debian's
 * {@code chromium}, which .ci/run installs when absent) shows its charts: lines in the chart colours, not a blank
 * page.
 */
class ReportBrowserIT {

    static final String CHROMIUM = "/usr/bin/chromium";

    @TempDir
    Path tmp;

    private static String run(String... args) {
        return FactorbirdCliTest.run(args);
    }

    @Test
    void runsWriteAReportThatChromiumRendersWithItsCharts() throws Exception {
        Path data = tmp.resolve("data");
        run("generate", "--output", data.toString(), "--rows", "400", "--cols", "300", "--ratings", "40000", "--rank",
                "4", "--seed", "5");
        Path grid = tmp.resolve("grid");
        run("grid", "--input", data.resolve("train").toString(), "--test", data.resolve("test").toString(),
                "--output", grid.toString(), "--epochs", "6", "--rank", "4,8", "--lambda", "0.02,0.05",
                "--learning-rate", "0.03", "--prune", "halving", "--prune-every", "3", "--prune-tie", "0");
        // (--prune-tie 0: at the default init-std the four models train alike for these few epochs, so with the
        // tie rule none would stop; the report should show two stopped)
        List<String> csv = Files.readAllLines(grid.resolve("metrics.csv"));
        // 4 models: 2 trained 6 epochs, 2 pruned after epoch 3
        assertEquals(1 + 6 + 6 + 3 + 3, csv.size(), String.join("\n", csv));
        String html = Files.readString(grid.resolve("report.html"));
        assertTrue(html.contains("The grid over rank and lambda"), "the heat map");
        Path single = tmp.resolve("single");
        run("train", "--input", data.resolve("train").toString(), "--test", data.resolve("test").toString(),
                "--output", single.toString(), "--epochs", "5", "--rank", "4");
        assertEquals(1 + 5, Files.readAllLines(single.resolve("metrics.csv")).size());

        // rebuilt from the JSON files alone: the same report
        Files.delete(grid.resolve("report.html"));
        assertTrue(run("report", grid.toString()).startsWith("wrote "));
        assertEquals(html, Files.readString(grid.resolve("report.html")));

        BufferedImage shot = screenshot(grid.resolve("report.html"));
        int red = 0;
        int blue = 0;
        int ink = 0;
        for (int y = 0; y < shot.getHeight(); y++) {
            for (int x = 0; x < shot.getWidth(); x++) {
                int rgb = shot.getRGB(x, y);
                int r = (rgb >> 16) & 0xFF;
                int g = (rgb >> 8) & 0xFF;
                int b = rgb & 0xFF;
                red += near(r, g, b, 0xd6, 0x27, 0x28) ? 1 : 0; // the best model's line
                blue += near(r, g, b, 0x1f, 0x77, 0xb4) ? 1 : 0; // train lines, shard 0, bars
                ink += r + g + b < 600 ? 1 : 0;
            }
        }
        double inkShare = ink / (double) (shot.getWidth() * shot.getHeight());
        System.out.printf("report screenshot %dx%d: %d best-line pixels, %d blue pixels, %.1f%% ink%n",
                shot.getWidth(), shot.getHeight(), red, blue, 100 * inkShare);
        assertTrue(red > 300, "the best model's red line is drawn: " + red + " pixels");
        assertTrue(blue > 300, "the blue lines and bars are drawn: " + blue + " pixels");
        assertTrue(inkShare > 0.02 && inkShare < 0.6, "a page with charts, neither blank nor black: " + inkShare);
    }

    private static boolean near(int r, int g, int b, int er, int eg, int eb) {
        return Math.abs(r - er) < 40 && Math.abs(g - eg) < 40 && Math.abs(b - eb) < 40;
    }

    /** Renders {@code page} in headless Chromium; fails with what to install when it is not there. */
    private BufferedImage screenshot(Path page) throws IOException, InterruptedException {
        assertTrue(Files.isExecutable(Paths.get(CHROMIUM)), CHROMIUM + " is missing: install Debian's chromium "
                + "(apt-get install chromium; .ci/run does this when it is absent)");
        Path png = tmp.resolve("report.png");
        Path profile = Files.createDirectories(tmp.resolve("chromium-profile"));
        // no network at all, and none of Chromium's background connections (refused on this machine)
        Process p = new ProcessBuilder(CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=1360,2400",
                "--screenshot=" + png, page.toUri().toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("chromium.log").toFile()).start();
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish within 120 s");
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // its renderer and zygote processes too
            p.destroyForcibly();
        }
        assertTrue(Files.exists(png), "no screenshot; chromium said: " + Files.readString(tmp.resolve("chromium.log")));
        return ImageIO.read(png.toFile());
    }
}
