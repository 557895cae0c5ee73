package org.factorbird.ps;

/** A parameter-server request failed: the message names the server and says why. */
public class PsException extends RuntimeException {

    public PsException(String message) {
        super(message);
    }

    public PsException(String message, Throwable cause) {
        super(message, cause);
    }
}
